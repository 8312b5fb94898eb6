// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/componentversions.h"

#include "common/licence.h"
#include "engine/runtime/runtimeinfo.h"
#include "project/backend/torchbackend.h"
#include "slide/io/slidelibraries.h"

#include <QStringList>
#include <QtGlobal>

namespace icmil::ui {

QList<ComponentVersion> componentVersions()
{
    const auto qs = [](const std::string &text) { return QString::fromStdString(text); };
    engine::RuntimeInfo torch;
    QString unavailable; // why LibTorch could not be loaded
    try {
        torch = project::torchBackend().runtimeInfo(); // loads LibTorch (its first use, unless training ran)
    } catch (const std::exception &e) {
        unavailable = qs(e.what());
    }
    QString qt = QString::fromLatin1(qVersion());
    if (qt != QLatin1String(QT_VERSION_STR))
        qt += QStringLiteral(" (built with %1)").arg(QLatin1String(QT_VERSION_STR));
    QString blas = qs(torch.blasHint);
    if (torch.blasThreads > 0)
        blas += QStringLiteral(" (%1 threads)").arg(torch.blasThreads);
    if (!unavailable.isEmpty()) {
        return {
            {QStringLiteral("ICMIL Studio"), QStringLiteral(ICMIL_VERSION)},
            {QStringLiteral("Qt"), qt},
            {QStringLiteral("LibTorch"), unavailable},
            {QStringLiteral("OpenSlide"), qs(slide::openSlideVersion())},
            {QStringLiteral("OpenCV"), qs(slide::openCvVersion())},
            {QStringLiteral("libtiff"), qs(slide::libTiffVersion())},
        };
    }
    return {
        {QStringLiteral("ICMIL Studio"), QStringLiteral(ICMIL_VERSION)},
        {QStringLiteral("Qt"), qt},
        {QStringLiteral("LibTorch"), qs(torch.torchVersion)},
        {QStringLiteral("CPU threads"),
         QStringLiteral("%1 of %2 (%3)").arg(torch.intraOpThreads).arg(torch.hardwareThreads).arg(qs(torch.parallelBackend))},
        {QStringLiteral("BLAS"), blas},
        {QStringLiteral("CUDA"), qs(engine::describeCuda(torch))},
        {QStringLiteral("OpenSlide"), qs(slide::openSlideVersion())},
        {QStringLiteral("OpenCV"), qs(slide::openCvVersion())},
        {QStringLiteral("libtiff"), qs(slide::libTiffVersion())},
    };
}

QString versionReport(const QList<ComponentVersion> &components)
{
    QStringList lines;
    for (const ComponentVersion &component : components)
        lines << component.name + QLatin1Char(' ') + component.version;
    lines << QString::fromLatin1(kLicenceSentence);
    return lines.join(QLatin1Char('\n')) + QLatin1Char('\n');
}

} // namespace icmil::ui
