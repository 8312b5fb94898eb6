// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The training panel's duration estimate: "Estimated duration: about 40 min on cpu", the phases
// below it, and a warning when a run would take more than an hour on a CPU that names what to
// reduce (the settings behind the phases that take longest). Shows a DurationEstimateInfo made
// on the worker thread; no work of its own. GUI thread only. Before LibTorch is loaded the panel
// does not estimate by itself (the probe would load it: docs/ARCHITECTURE.md, "LibTorch on
// demand"): showOnRequest() offers an Estimate button, which emits estimateRequested().

#include "ui/training/trainingevents.h"
#include "ui/training/trainingsettings.h"

#include <QWidget>

class QLabel;
class QPushButton;

namespace icmil::ui {

class DurationEstimateView : public QWidget {
    Q_OBJECT
public:
    static constexpr double kWarnSeconds = 3600.0; // on a CPU

    explicit DurationEstimateView(QWidget *parent = nullptr);

    void showPending();
    void showOnRequest();
    void showUnavailable(const QString &why);
    // `settings`: those the estimate was made for (to name what to reduce).
    void showEstimate(const DurationEstimateInfo &info, const TrainingSettings &settings);

    QString estimateText() const;
    QString detailText() const;
    QString warningText() const; // empty when there is no warning
    bool isWarningShown() const;
    QPushButton *estimateButton() const { return m_request; }

    // "under a minute", "about 25 min", "about 3.5 h".
    static QString approximately(double seconds);
    // What to reduce, the longest phase first; empty unless more than kWarnSeconds on a CPU.
    static QString warningFor(const DurationEstimateInfo &info, const TrainingSettings &settings);

Q_SIGNALS:
    void estimateRequested();

private:
    QLabel *m_estimate = nullptr;
    QLabel *m_detail = nullptr;
    QLabel *m_warning = nullptr;
    QPushButton *m_request = nullptr; // shown by showOnRequest()
};

} // namespace icmil::ui
