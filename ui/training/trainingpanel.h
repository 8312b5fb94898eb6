// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The training panel: ICMIL loop settings for a project folder, Train / Stop / Resume, progress
// with phase and ETA, a bounded log and the charts (trainingcharts.h). All work runs on a
// TrainingWorker on the "icmil-training" thread; the GUI never waits on it, except in
// stopAndWait() / confirmStopOnClose() / the destructor (which stop a run first).
//
// For the main window (integration by its owner):
//   - closeEvent: `if (!panel->confirmStopOnClose()) { event->ignore(); return; }` — asks
//     "A training run is in progress. Stop it and close?" while a run is under way and, on yes,
//     stops it and waits for it to end (finished phases are kept; Resume continues later).
//   - runFinished(bestRun): a run ended with every iteration done; `bestRun` is the run folder
//     (runs/<bestRun>/) of the iteration with the best validation AUC: refresh predictions and
//     heatmaps from it. runningChanged(bool) for menus that must wait for a run.
//
// Train starts the loop over (after asking, when a saved loop would be deleted). Resume runs the
// same settings again: the loop continues at the first phase not done, or adds iterations when
// the iteration count was raised; enabled when the project's icmil/<name>/state.json exists and
// is unfinished (or was stopped).
//
// Duration estimate: when the project, the device or any setting changes (debounced by
// kEstimateDelayMs) and no run is under way, the worker times a short probe of the loop's work
// on the chosen device (project/loop/loopdurationestimate.h) and the panel shows "Estimated
// duration: about N min on <device>", with a warning naming what to reduce when a CPU would take
// more than an hour. The first estimate also tells which device "auto" is: on a new project
// (no saved loop, not the demo's recipe) the form's device-sized fields still at their defaults
// then follow it (TrainingSettings::deviceDefaults, followDevice).

#include "project/loop/icmilloopconfig.h"
#include "ui/training/trainingevents.h"
#include "ui/training/trainingsettings.h"

#include <QElapsedTimer>
#include <QThread>
#include <QTimer>
#include <QWidget>

#include <functional>

class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace icmil::ui {

class DurationEstimateView;
class TrainingCharts;
class TrainingSettingsForm;
class TrainingWorker;

class TrainingPanel : public QWidget {
    Q_OBJECT
public:
    static constexpr int kLogLines = 5000;
    static constexpr int kEstimateDelayMs = 500;

    explicit TrainingPanel(QWidget *parent = nullptr);
    ~TrainingPanel() override; // stops a run under way and waits for it

    // The project folder (features/, runs/, icmil/); its saved loop is read (off the GUI thread)
    // to fill the charts and enable Resume. Refused (false) while a run is under way.
    bool setProject(const QString &path);
    QString project() const { return m_project; }

    // The settings as the widgets show them (projectRoot: the project), and back.
    TrainingSettings settings() const;
    void setSettings(const TrainingSettings &settings);
    // Settings without a widget (tiling, model widths, batch sizes, split): `icmil run`'s by default.
    void setBaseConfig(project::IcmilLoopConfig base) { m_base = std::move(base); }
    const project::IcmilLoopConfig &baseConfig() const { return m_base; }
    project::IcmilLoopConfig loopConfig() const { return settings().loopConfig(m_base); }

    bool isRunning() const { return m_running; }
    bool canResume() const;

    // Replaces the yes/no question (QMessageBox by default), e.g. for tests or a custom dialog.
    void setConfirmation(std::function<bool(const QString &question)> confirm) { m_confirm = std::move(confirm); }
    bool confirmStopOnClose(int timeoutMs = 10000);
    // Stops the run and waits up to `ms` for it to end; true when none is under way any more.
    bool stopAndWait(int ms);

    TrainingCharts *charts() const { return m_charts; }
    DurationEstimateView *durationEstimate() const { return m_duration; }
    TrainingSettingsForm *form() const { return m_form; }
    // "Preview tissue": whether the user asked to see what the tissue settings keep on the shown
    // slide, and the line that says it (set by whoever computes it, e.g. TissuePreview).
    bool tissuePreviewRequested() const;
    void setTissuePreviewText(const QString &text);
    QString tissuePreviewText() const;
    QString progressText() const;
    QString logText() const;
    TrainingWorker *worker() const { return m_worker; }

public Q_SLOTS:
    void train();  // start over (asks before deleting a saved loop)
    void resume(); // continue the saved loop with the same settings
    void stop();   // asks the run to stop; answered with runCancelled() within a second

Q_SIGNALS:
    void runStarted();
    void runFinished(const QString &bestRun);
    void runCancelled();
    void runFailed(const QString &message);
    void runningChanged(bool running);
    void progressTextChanged(const QString &text);
    // The project's runs changed on disk: a run that started over has deleted the old ones (sent
    // with its first progress), or an iteration's classifier run was written. The project's
    // table and heatmap reload on it.
    void projectOutputsChanged();
    void tissuePreviewToggled(bool on);
    void settingsEdited(); // any setting of the form changed (loopConfig() has the new values)

private:
    void start(bool overwrite);
    void setRunning(bool running);
    void updateButtons();
    void appendLog(const QString &line);
    void inspectState();
    void onProgress(const TrainingProgress &progress);
    void onEpoch(const ClassifierEpoch &epoch);
    void onFineTuningEpoch(const FineTuningEpochPoint &epoch);
    void onIteration(const IterationResult &iteration);
    void onFinished(const TrainingOutcome &outcome);
    void onCancelled(const TrainingOutcome &outcome);
    void onFailed(const QString &message);
    void onState(const LoopStateInfo &state);
    void scheduleEstimate();
    void requestEstimate();
    void onEstimate(const DurationEstimateInfo &info);
    bool chosenDeviceIsCpu() const;

    QThread m_thread;
    TrainingWorker *m_worker = nullptr;
    bool m_startedOver = false;       // the run under way deletes the old results: say so at its first progress
    bool m_loadSavedSettings = false; // the next saved loop answer for this project fills the form
    project::IcmilLoopConfig m_base = TrainingSettings::defaultLoopConfig();
    QString m_project;
    TrainingSettings m_settings; // project, slides, name and seed; the form has the rest
    bool m_running = false;
    bool m_stopping = false;
    LoopStateInfo m_state;
    QElapsedTimer m_runClock;
    QElapsedTimer m_stopClock;
    std::function<bool(const QString &)> m_confirm;
    QTimer m_estimateTimer;
    int m_estimateRequest = 0;
    bool m_estimateShown = false;
    bool m_autoIsCpu = true;              // what "auto" resolved to in the last estimate made with it
    TrainingSettings m_estimatedSettings; // of the request under way

    TrainingSettingsForm *m_form = nullptr;
    QPushButton *m_trainButton = nullptr;
    QPushButton *m_stopButton = nullptr;
    QPushButton *m_resumeButton = nullptr;
    QLabel *m_phaseLabel = nullptr;
    QProgressBar *m_progress = nullptr;
    QPlainTextEdit *m_log = nullptr;
    TrainingCharts *m_charts = nullptr;
    bool m_logFollows = true; // the log shows its newest line (the user has not scrolled up)
    DurationEstimateView *m_duration = nullptr;
    QCheckBox *m_tissuePreview = nullptr;
    QLabel *m_tissuePreviewText = nullptr;
};

} // namespace icmil::ui
