// SPDX-License-Identifier: GPL-3.0-or-later
// The About dialog and `icmil-studio --version`'s report: the versions of Qt, LibTorch,
// OpenSlide, OpenCV and libtiff as the libraries themselves report them, and the CUDA line.
#include "engine/runtime/runtimeinfo.h"
#include "project/backend/torchbackend.h"
#include "ui/shell/aboutdialog.h"
#include "ui/shell/componentversions.h"
#include "ui/shell/keyvaluetable.h"

#include <QApplication>
#include <QClipboard>
#include <QPushButton>
#include <QSignalSpy>
#include <QTableWidget>
#include <QLabel>
#include <QtTest>

#include <algorithm>

#include <openslide.h>
#include <opencv2/core/version.hpp>
#include <tiffio.h>
#include <torch/version.h>

using namespace icmil;

namespace {

QString versionOf(const QList<ui::ComponentVersion> &components, const QString &name)
{
    for (const ui::ComponentVersion &component : components) {
        if (component.name == name)
            return component.version;
    }
    return QStringLiteral("(missing)");
}

} // namespace

class TstAboutDialog : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void componentsAreTheLoadedLibraries()
    {
        const QList<ui::ComponentVersion> components = ui::componentVersions();
        QCOMPARE(versionOf(components, QStringLiteral("ICMIL Studio")), QStringLiteral(ICMIL_VERSION));
        QVERIFY(versionOf(components, QStringLiteral("Qt")).startsWith(QLatin1String(qVersion())));
        QCOMPARE(versionOf(components, QStringLiteral("LibTorch")), QStringLiteral(TORCH_VERSION));
        QCOMPARE(versionOf(components, QStringLiteral("OpenSlide")), QString::fromLatin1(openslide_get_version()));
        QCOMPARE(versionOf(components, QStringLiteral("OpenCV")), QStringLiteral(CV_VERSION));
        QVERIFY2(
            QString::fromLatin1(TIFFGetVersion()).contains(QStringLiteral("Version ") + versionOf(components, QStringLiteral("libtiff"))),
            TIFFGetVersion());
        QVERIFY(versionOf(components, QStringLiteral("libtiff")).contains(QRegularExpression(QStringLiteral("^[0-9]+\\.[0-9]+"))));
        const engine::RuntimeInfo info = project::torchBackend().runtimeInfo();
        const QString cuda = versionOf(components, QStringLiteral("CUDA"));
        if (info.cudaAvailable)
            QVERIFY(cuda.startsWith(QString::number(info.cudaDeviceCount) + QStringLiteral(" device")));
        else
            QCOMPARE(cuda, info.cudaBuilt ? QStringLiteral("built in, no usable device") : QStringLiteral("not in this build"));
    }

    void reportIsOneLinePerComponentThenTheLicence()
    {
        const QString report = ui::versionReport(
            {{QStringLiteral("ICMIL Studio"), QStringLiteral("0.1.0")}, {QStringLiteral("Qt"), QStringLiteral("6.4.2")}});
        QCOMPARE(report,
                 QStringLiteral("ICMIL Studio 0.1.0\nQt 6.4.2\nFree software under the GNU General Public License, "
                                "version 3 or later (GPL-3.0-or-later); no warranty.\n"));
    }

    void dialogShowsAndCopiesThem()
    {
        ui::AboutDialog dialog;
        dialog.show();
        auto *copy = dialog.findChild<QPushButton *>(QStringLiteral("copyVersions"));
        QVERIFY(!copy->isEnabled()); // until the versions are known
        QSignalSpy shown(&dialog, &ui::AboutDialog::versionsShown);
        QVERIFY(shown.wait(20000));
        const QList<ui::ComponentVersion> components = ui::componentVersions();
        ui::KeyValueTable *table = dialog.versionTable();
        QCOMPARE(table->rowCount(), components.size());
        for (int row = 0; row < table->rowCount(); ++row) {
            QCOMPARE(table->item(row, 0)->text(), components[row].name);
            if (components[row].name != QStringLiteral("CPU threads") && components[row].name != QStringLiteral("BLAS"))
                QCOMPARE(table->item(row, 1)->text(), components[row].version);
        }
        QVERIFY(dialog.versionText().startsWith(QStringLiteral("ICMIL Studio %1\nQt ").arg(QStringLiteral(ICMIL_VERSION))));
        // The licence travels with the versions (a bug report, --version) and is in the dialog.
        QVERIFY(dialog.versionText().endsWith(QStringLiteral("(GPL-3.0-or-later); no warranty.\n")));
        const QList<QLabel *> labels = dialog.findChildren<QLabel *>();
        QVERIFY(std::any_of(labels.begin(), labels.end(),
                            [](const QLabel *l) { return l->text().contains(QStringLiteral("GPL-3.0-or-later")); }));
        QVERIFY(copy->isEnabled());
        QTest::mouseClick(copy, Qt::LeftButton);
        QCOMPARE(QApplication::clipboard()->text(), dialog.versionText());
    }
};

QTEST_MAIN(TstAboutDialog)
#include "tst_aboutdialog.moc"
