// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Applies a model bundle to slides (project::BundlePredictionJob, through the LibTorch module:
// project/backend/torchbackend.h, loaded by the first use) off the GUI thread: a thin QObject over
// the core job (docs/ARCHITECTURE.md, "Long jobs"), as TrainingWorker is for the loop. Lives on a
// QThread named "icmil-apply-model" (moveToNamedThread). Progress comes out as queued signals
// carrying values (applymodelevents.h), at most every ~100 ms (and at each slide's first and last
// step). Every run ends with exactly one of finished(), cancelled() or failed(message):
// ProjectError (LibTorch cannot be loaded, a file that is not a model bundle), EngineError,
// SlideError and any other std::exception become failed() with their one sentence. Slides that
// fail are not a failure of the run: finished() lists them with their reasons.

#include "ui/project/applymodelevents.h"

#include <QElapsedTimer>
#include <QObject>
#include <QThread>

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace icmil::project {
class BundlePredictionRunner;
struct BundlePredictionConfig;
} // namespace icmil::project

namespace icmil::ui {

class ApplyModelWorker : public QObject {
    Q_OBJECT
public:
    static constexpr int kProgressIntervalMs = 100;

    explicit ApplyModelWorker(QObject *parent = nullptr);
    ~ApplyModelWorker() override;

    // Names `thread` "icmil-apply-model", moves this worker onto it (no parent allowed) and starts it.
    void moveToNamedThread(QThread *thread);

    // Thread-safe. Queues a run on the worker's thread; false when one is already under way.
    bool start(ApplyModelRequest request);
    // Thread-safe: asks the run under way (or the one queued) to stop; it ends with cancelled().
    void cancel();
    bool isRunning() const;
    // Cancels and waits up to `ms` for the run to return; true when none is under way any more.
    bool stopAndWait(int ms);

    // The worker's own work, on its thread (also callable directly, e.g. in tests).
    void run(const ApplyModelRequest &request);

    // A bundle's model.json, read through the LibTorch module (loading it: call off the GUI
    // thread). Never throws: a problem is the description's error.
    static BundleDescription describeBundle(const QString &path);
    // The job's settings: the slides listed (a folder is read: call off the GUI thread), unused
    // entries of a folder appended to `problems`. Throws ProjectError for a folder that does not exist.
    static project::BundlePredictionConfig configFor(const ApplyModelRequest &request, QStringList &problems);

Q_SIGNALS:
    void started();
    void progressChanged(const icmil::ui::ApplyModelProgress &progress);
    void messageLogged(const QString &line);
    void finished(const icmil::ui::ApplyModelOutcome &outcome);
    void cancelled(const icmil::ui::ApplyModelOutcome &outcome);
    void failed(const QString &message);

private:
    void runJob(const ApplyModelRequest &request);
    void setRunning(bool running);

    mutable std::mutex m_mutex;
    std::condition_variable m_idle;
    bool m_running = false;                           // guarded by m_mutex
    project::BundlePredictionRunner *m_job = nullptr; // guarded by m_mutex; the job under way
    std::atomic_bool m_cancelRequested{false};
    QElapsedTimer m_sinceProgress;
    QString m_lastSlide;
};

} // namespace icmil::ui
