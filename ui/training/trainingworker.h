#pragma once

// Runs the ICMIL loop (project::IcmilLoop) off the GUI thread: a thin QObject over the plain core
// object (ARCHITECTURE rule 7). Lives on a QThread named "icmil-training" (moveToNamedThread).
// The loop's events come out as queued signals carrying values (trainingevents.h); progress at
// most every ~100 ms (and at each phase's first and last step). Every run ends with exactly one
// of finished(), cancelled() or failed(message): ProjectError, EngineError, SlideError,
// c10::Error and any other std::exception become failed() with their one sentence.
//
// From the GUI thread: start(config) queues a run; cancel() (thread-safe) stops it within a
// batch, a bag or a step; stopAndWait(ms) cancels and blocks until the run has returned (for a
// window that is closing). inspect(config) reads the saved loop state on the worker thread.

#include "project/icmilloop.h"
#include "ui/training/trainingevents.h"

#include <QElapsedTimer>
#include <QObject>
#include <QThread>

#include <atomic>
#include <condition_variable>
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

    // The worker's own work, on its thread (also callable directly, e.g. in tests).
    void run(const project::IcmilLoopConfig &config);
    static LoopStateInfo readState(const project::IcmilLoopConfig &config);
    // An iteration's figures with its run's test ROC (reads runs/<run>/predictions.json).
    static IterationResult iterationResult(const project::IcmilLoopConfig &config, const project::IterationSummary &summary);

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

private:
    void runLoop(const project::IcmilLoopConfig &config);
    void setRunning(bool running);

    mutable std::mutex m_mutex;
    std::condition_variable m_idle;
    bool m_running = false;                 // guarded by m_mutex
    project::IcmilLoop *m_loop = nullptr;   // guarded by m_mutex; the loop under way
    std::atomic_bool m_cancelRequested{false};
    QElapsedTimer m_sinceProgress;
    QString m_lastPhase;
    int m_lastIteration = -1;
};

} // namespace icmil::ui
