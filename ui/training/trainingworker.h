// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Runs the ICMIL loop (project::IcmilLoop, through the LibTorch module: project/backend/torchbackend.h,
// loaded by the first run or estimate) off the GUI thread: a thin QObject over the plain core
// object (docs/ARCHITECTURE.md, "Long jobs"). Lives on a QThread named "icmil-training" (moveToNamedThread).
// The loop's events come out as queued signals carrying values (trainingevents.h); progress at
// most every ~100 ms (and at each phase's first and last step). Every run ends with exactly one
// of finished(), cancelled() or failed(message): ProjectError (LibTorch cannot be loaded among
// them), EngineError, SlideError and any other std::exception become failed() with their one sentence.
//
// From the GUI thread: start(config) queues a run; cancel() (thread-safe) stops it within a
// batch, a bag or a step; stopAndWait(ms) cancels and blocks until the run has returned (for a
// window that is closing). inspect(config) reads the saved loop state on the worker thread.
// estimate(config, request) times a short probe there (project/loop/loopdurationestimate.h) and
// answers with durationEstimated(); a newer request, supersedeEstimates(), start() and cancel()
// stop the probe under way (between measurements) and drop queued ones.
//
// Iteration figures carry the attention's localisation when the loop's slide folder is a
// synthetic dataset with tumour masks (project/export/tumourgroundtruth.h), computed here, off the GUI
// thread, when an iteration finishes and when a saved loop is read.

#include "project/backend/torchbackend.h"
#include "project/loop/icmilloopconfig.h"
#include "ui/training/trainingevents.h"

#include <QElapsedTimer>
#include <QObject>
#include <QThread>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace icmil::ui {

class TrainingWorker : public QObject {
    Q_OBJECT
public:
    static constexpr int kProgressIntervalMs = 100;

    explicit TrainingWorker(QObject *parent = nullptr);
    ~TrainingWorker() override;

    // Names `thread` "icmil-training", moves this worker onto it (no parent allowed) and starts it.
    void moveToNamedThread(QThread *thread);

    // Thread-safe. Queues a run of the loop with `config` on the worker's thread; false when a
    // run is already under way (nothing is queued then).
    bool start(project::IcmilLoopConfig config);
    // Thread-safe: asks the run under way (or the one queued) to stop. It ends with cancelled().
    void cancel();
    // Thread-safe: a run is queued or under way.
    bool isRunning() const;
    // Cancels and waits up to `ms` for the run to return; true when none is under way any more.
    // Call from any thread but the worker's.
    bool stopAndWait(int ms);
    // Thread-safe: queues reading `config`'s saved loop (icmil/<name>/state.json); answers with
    // stateInspected().
    void inspect(project::IcmilLoopConfig config);

    // Thread-safe: queues a duration estimate of a run of `config`, answered with
    // durationEstimated(info) where info.request == request (unless superseded first).
    void estimate(project::IcmilLoopConfig config, int request);
    // Thread-safe: stops the estimate under way and drops the queued ones.
    void supersedeEstimates();
    // Replaces the timed probe (e.g. a fixed estimate in tests); empty: the real estimator.
    using DurationEstimator = std::function<project::LoopDurationEstimate(const project::IcmilLoopConfig &)>;
    void setDurationEstimator(DurationEstimator estimator);

    // The worker's own work, on its thread (also callable directly, e.g. in tests).
    void run(const project::IcmilLoopConfig &config);
    static LoopStateInfo readState(const project::IcmilLoopConfig &config);
    // An iteration's figures with its run's test ROC (reads runs/<run>/predictions.json).
    static IterationResult iterationResult(const project::IcmilLoopConfig &config, const project::IterationSummary &summary);
    // The attention localisation of `result`'s run against the slides' tumour ground truth, when
    // they have one (fields left NaN otherwise, or when the attention cannot be read).
    static void addLocalisation(const project::IcmilLoopConfig &config, IterationResult &result);

Q_SIGNALS:
    void started();
    void progressChanged(const icmil::ui::TrainingProgress &progress);
    void messageLogged(const QString &line);
    void classifierEpochFinished(const icmil::ui::ClassifierEpoch &epoch);
    void fineTuningEpochFinished(const icmil::ui::FineTuningEpochPoint &epoch);
    void phaseFinished(int iteration, const QString &phase);
    void iterationFinished(const icmil::ui::IterationResult &iteration);
    void finished(const icmil::ui::TrainingOutcome &outcome);
    void cancelled(const icmil::ui::TrainingOutcome &outcome);
    void failed(const QString &message);
    void stateInspected(const icmil::ui::LoopStateInfo &state);
    void durationEstimated(const icmil::ui::DurationEstimateInfo &info);

private:
    void runLoop(const project::IcmilLoopConfig &config);
    void setRunning(bool running);
    void runEstimate(const project::IcmilLoopConfig &config, int request);

    mutable std::mutex m_mutex;
    std::condition_variable m_idle;
    bool m_running = false;                // guarded by m_mutex
    project::LoopRunner *m_loop = nullptr; // guarded by m_mutex; the loop under way
    std::atomic_bool m_cancelRequested{false};
    std::atomic_int m_latestEstimate{0};           // the request to answer; 0: none
    project::DurationProbe *m_estimator = nullptr; // guarded by m_mutex; the probe under way
    DurationEstimator m_fakeEstimator;             // guarded by m_mutex
    QElapsedTimer m_sinceProgress;
    QString m_lastPhase;
    int m_lastIteration = -1;
};

} // namespace icmil::ui
