// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/training/durationestimateview.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace icmil::ui {

DurationEstimateView::DurationEstimateView(QWidget *parent) : QWidget(parent)
{
    m_estimate = new QLabel;
    m_estimate->setObjectName(QStringLiteral("durationEstimate"));
    m_estimate->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_detail = new QLabel;
    m_detail->setWordWrap(true);
    m_detail->setTextInteractionFlags(Qt::TextSelectableByMouse);
    QFont small = m_detail->font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    m_detail->setFont(small);
    m_warning = new QLabel;
    m_warning->setObjectName(QStringLiteral("durationWarning"));
    m_warning->setWordWrap(true);
    m_warning->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_warning->setStyleSheet(QStringLiteral("QLabel { color: #8a4b00; background: #fff3cd; border: 1px solid #e0b44c; padding: 4px; }"));
    m_warning->hide();
    m_request = new QPushButton(tr("Estimate"));
    m_request->setObjectName(QStringLiteral("estimateDuration"));
    m_request->setToolTip(tr("Times a short probe of the run on its device (loads LibTorch the first time, about a second)"));
    m_request->hide();
    connect(m_request, &QPushButton::clicked, this, &DurationEstimateView::estimateRequested);
    auto *line = new QHBoxLayout;
    line->setContentsMargins(0, 0, 0, 0);
    line->addWidget(m_estimate, 1);
    line->addWidget(m_request);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(line);
    layout->addWidget(m_detail);
    layout->addWidget(m_warning);
    showUnavailable(tr("no project"));
}

QString DurationEstimateView::approximately(double seconds)
{
    if (!(seconds >= 60.0))
        return tr("under a minute");
    if (seconds < 5400.0)
        return tr("about %1 min").arg(std::llround(seconds / 60.0));
    return tr("about %1 h").arg(seconds / 3600.0, 0, 'f', 1);
}

void DurationEstimateView::showPending()
{
    m_estimate->setText(tr("Estimating the duration…"));
    m_request->hide();
    m_detail->clear();
    m_detail->hide();
    m_warning->hide();
}

void DurationEstimateView::showOnRequest()
{
    m_estimate->setText(tr("Estimated duration: not measured yet"));
    m_request->show();
    m_detail->clear();
    m_detail->hide();
    m_warning->hide();
}

void DurationEstimateView::showUnavailable(const QString &why)
{
    m_estimate->setText(tr("Estimated duration: unknown (%1)").arg(why));
    m_request->hide();
    m_detail->clear();
    m_detail->hide();
    m_warning->hide();
}

void DurationEstimateView::showEstimate(const DurationEstimateInfo &info, const TrainingSettings &settings)
{
    const project::LoopDurationEstimate &e = info.estimate;
    m_estimate->setText(tr("Estimated duration: %1 on %2").arg(approximately(e.totalSeconds), info.device));
    m_request->hide();
    QStringList phases;
    if (e.tilingSeconds > 0.0)
        phases << tr("tiling %1").arg(approximately(e.tilingSeconds));
    phases << tr("extraction %1").arg(approximately(e.extractionSeconds)) << tr("fine-tuning %1").arg(approximately(e.fineTuningSeconds))
           << tr("classifier %1").arg(approximately(e.trainingSeconds));
    m_detail->setText(tr("%1; %2 slides, %3 patches").arg(phases.join(QStringLiteral(", "))).arg(e.workload.slides).arg(e.patches));
    m_detail->setToolTip(tr("Patches from %1. Timed on %2 in %3 s: %4 ms to read a patch, %5 ms to embed one, %6 ms per patch of a "
                            "fine-tuning step, %7 ms per classifier step on a bag of %8 patches.")
                             .arg(QString::fromStdString(e.patchSource), info.device)
                             .arg(e.timings.seconds, 0, 'f', 1)
                             .arg(e.timings.readPerPatch * 1e3, 0, 'f', 2)
                             .arg(e.timings.embedPerPatch * 1e3, 0, 'f', 2)
                             .arg(e.timings.distillPerPatch * 1e3, 0, 'f', 2)
                             .arg(e.timings.bagStep * 1e3, 0, 'f', 2)
                             .arg(e.bagSize));
    m_detail->show();
    const QString warning = warningFor(info, settings);
    m_warning->setText(warning);
    m_warning->setVisible(!warning.isEmpty());
}

QString DurationEstimateView::warningFor(const DurationEstimateInfo &info, const TrainingSettings &s)
{
    const project::LoopDurationEstimate &e = info.estimate;
    if (!info.cpu || !(e.totalSeconds > kWarnSeconds))
        return {};
    std::vector<std::pair<double, QString>> advice;
    advice.emplace_back(
        e.fineTuningSeconds,
        tr("fewer patches per fine-tuning epoch (now %1) or fine-tuning epochs (now %2)").arg(s.fineTunePatches).arg(s.fineTuneEpochs));
    advice.emplace_back(e.extractionSeconds,
                        s.embedder == "tiny-cnn"
                            ? tr("fewer ICMIL iterations (now %1; each one extracts all %2 patches again)").arg(s.iterations).arg(e.patches)
                            : tr("the tiny-cnn embedder or fewer ICMIL iterations (each one extracts all %1 patches again with %2)")
                                  .arg(e.patches)
                                  .arg(QString::fromStdString(s.embedder)));
    advice.emplace_back(e.trainingSeconds, tr("fewer classifier epochs (now %1)").arg(s.epochs));
    advice.emplace_back(e.tilingSeconds, tr("fewer slides (tiling them once takes %1)").arg(approximately(e.tilingSeconds)));
    std::stable_sort(advice.begin(), advice.end(), [](const auto &a, const auto &b) { return a.first > b.first; });
    QStringList reduce;
    for (const auto &[seconds, words] : advice)
        if (seconds >= 0.15 * e.totalSeconds || reduce.isEmpty())
            reduce << words;
    return tr("This run would take %1 on a CPU. To shorten it, use %2; or choose a CUDA device, or press \u201cDefaults for this "
              "device\u201d.")
        .arg(approximately(e.totalSeconds), reduce.join(tr("; ")));
}

QString DurationEstimateView::estimateText() const
{
    return m_estimate->text();
}

QString DurationEstimateView::detailText() const
{
    return m_detail->text();
}

QString DurationEstimateView::warningText() const
{
    return m_warning->isHidden() ? QString() : m_warning->text();
}

bool DurationEstimateView::isWarningShown() const
{
    return !m_warning->isHidden();
}

} // namespace icmil::ui
