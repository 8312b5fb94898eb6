// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/training/trainingworker.h"

#include "engine/mil/milmetrics.h"
#include "project/loop/icmilloopstate.h"
#include "project/training/predictiontable.h"
#include "project/projectlayout.h"
#include "project/export/tumourgroundtruth.h"

#include <QImageReader>
#include <QMetaObject>
#include <QVariantAnimation>

#include <chrono>
#include <exception>
#include <filesystem>

namespace icmil::ui {

namespace {

namespace fs = std::filesystem;

QString qs(const std::string &text)
{
    return QString::fromStdString(text);
}

void copyFigures(const std::optional<project::IterationSplitFigures> &figures, double &auc, double &accuracy, double &f1)
{
    if (!figures)
        return;
    auc = figures->auc ? *figures->auc : kUndefined;
    accuracy = figures->accuracy;
    f1 = figures->f1;
}

// Publishes a job under way in `slot` (for cancel(), under `mutex`) for as long as it lives:
// declared after the job, it withdraws it before the job is destroyed, however the run ends.
template <typename Job> class Published {
public:
    Published(std::mutex &mutex, Job *&slot, Job *job) : m_mutex(mutex), m_slot(slot)
    {
        const std::lock_guard lock(m_mutex);
        m_slot = job;
    }
    ~Published()
    {
        const std::lock_guard lock(m_mutex);
        m_slot = nullptr;
    }
    Published(const Published &) = delete;
    Published &operator=(const Published &) = delete;

private:
    std::mutex &m_mutex;
    Job *&m_slot;
};

// The LibTorch module, loaded on first use (project/backend/torchbackend.h). Loading it holds the
// dynamic loader's lock for about half a second (LibTorch's relocations and static initialisers),
// and a GUI thread that needs the loader meanwhile waits as long. A paint needs it the first time
// it reads a pixmap (Qt loads its image-format plugins then; Fusion's check boxes read one) and
// the first time it creates a thread_local with a destructor (__cxa_thread_atexit takes the lock;
// Qt's animation timer is one, created when a busy progress bar first animates): on a freshly
// shown training panel each stalled the GUI for ~540 ms when Train was pressed. So Qt loads its
// image plugins here first, off the GUI thread, and the worker's constructor, on the GUI thread,
// creates the animation timer (warmGuiThread).
project::TorchBackend &loadedBackend()
{
    static std::once_flag warmed;
    std::call_once(warmed, [] { QImageReader::supportedImageFormats(); });
    return project::torchBackend();
}

void warmGuiThread()
{
    QVariantAnimation animation; // QUnifiedTimer's thread_local, created now rather than mid-load
    animation.setDuration(1);
    animation.start();
    animation.stop();
}

} // namespace

TrainingWorker::TrainingWorker(QObject *parent) : QObject(parent)
{
    qRegisterMetaType<TrainingProgress>();
    qRegisterMetaType<ClassifierEpoch>();
    qRegisterMetaType<FineTuningEpochPoint>();
    qRegisterMetaType<IterationResult>();
    qRegisterMetaType<TrainingOutcome>();
    qRegisterMetaType<LoopStateInfo>();
    qRegisterMetaType<DurationEstimateInfo>();
    warmGuiThread(); // constructed on the GUI thread (moveToNamedThread moves it later)
}

TrainingWorker::~TrainingWorker() = default;

void TrainingWorker::moveToNamedThread(QThread *thread)
{
    thread->setObjectName(QStringLiteral("icmil-training"));
    moveToThread(thread);
    thread->start();
}

bool TrainingWorker::start(project::IcmilLoopConfig config)
{
    supersedeEstimates(); // a probe under way would delay the run and compete with it
    {
        const std::lock_guard lock(m_mutex);
        if (m_running)
            return false;
        m_running = true;
    }
    m_cancelRequested = false;
    QMetaObject::invokeMethod(
        this, [this, config = std::move(config)] { run(config); }, Qt::QueuedConnection);
    return true;
}

void TrainingWorker::cancel()
{
    supersedeEstimates();
    m_cancelRequested = true;
    const std::lock_guard lock(m_mutex);
    if (m_loop != nullptr)
        m_loop->cancel();
}

bool TrainingWorker::isRunning() const
{
    const std::lock_guard lock(m_mutex);
    return m_running;
}

bool TrainingWorker::stopAndWait(int ms)
{
    cancel();
    std::unique_lock lock(m_mutex);
    return m_idle.wait_for(lock, std::chrono::milliseconds(ms), [this] { return !m_running; });
}

void TrainingWorker::inspect(project::IcmilLoopConfig config)
{
    QMetaObject::invokeMethod(
        this, [this, config = std::move(config)] { Q_EMIT stateInspected(readState(config)); }, Qt::QueuedConnection);
}

void TrainingWorker::estimate(project::IcmilLoopConfig config, int request)
{
    supersedeEstimates();
    m_latestEstimate = request;
    QMetaObject::invokeMethod(
        this, [this, config = std::move(config), request] { runEstimate(config, request); }, Qt::QueuedConnection);
}

void TrainingWorker::supersedeEstimates()
{
    m_latestEstimate = 0;
    const std::lock_guard lock(m_mutex);
    if (m_estimator != nullptr)
        m_estimator->cancel();
}

void TrainingWorker::setDurationEstimator(DurationEstimator estimator)
{
    const std::lock_guard lock(m_mutex);
    m_fakeEstimator = std::move(estimator);
}

void TrainingWorker::runEstimate(const project::IcmilLoopConfig &config, int request)
{
    if (request != m_latestEstimate)
        return; // superseded before it began: a newer request answers
    DurationEstimateInfo info;
    info.request = request;
    DurationEstimator fake;
    {
        const std::lock_guard lock(m_mutex);
        fake = m_fakeEstimator;
    }
    try {
        project::TorchBackend &backend = loadedBackend();
        backend.adoptConfiguredThreads();
        const std::string device = backend.resolveDevice(config.device);
        info.device = qs(device);
        info.cpu = device.rfind("cpu", 0) == 0;
        if (fake) {
            info.estimate = fake(config);
        } else {
            const std::unique_ptr<project::DurationProbe> estimator = backend.makeDurationProbe(config);
            const Published published(m_mutex, m_estimator, estimator.get());
            if (request != m_latestEstimate)
                estimator->cancel();
            info.estimate = estimator->run();
            info.cancelled = estimator->cancelled();
        }
    } catch (const std::exception &e) {
        info.error = qs(e.what());
    }
    info.cancelled = info.cancelled || request != m_latestEstimate;
    Q_EMIT durationEstimated(info);
}

void TrainingWorker::setRunning(bool running)
{
    {
        const std::lock_guard lock(m_mutex);
        m_running = running;
    }
    m_idle.notify_all();
}

void TrainingWorker::run(const project::IcmilLoopConfig &config)
{
    {
        const std::lock_guard lock(m_mutex);
        m_running = true; // also when called directly, without start()
    }
    Q_EMIT started();
    QString error;
    try {
        runLoop(config);
        return;
    } catch (const std::exception &e) {
        error = qs(e.what());
    } catch (...) {
        error = QStringLiteral("Training stopped on an unknown error");
    }
    setRunning(false);
    Q_EMIT failed(error);
}

void TrainingWorker::runLoop(const project::IcmilLoopConfig &config)
{
    project::TorchBackend &backend = loadedBackend(); // loads LibTorch on the first run
    backend.adoptConfiguredThreads();                 // Preferences > threads may have changed since the last run
    project::IcmilLoopConfig resolved = config;
    engine::StainNormalisation &stain = resolved.extraction.stain;
    if (stain.active() && stain.referenceSource != "built-in") { // a slide region: its stain, estimated here (deterministic)
        Q_EMIT messageLogged(QStringLiteral("Estimating the reference stain from %1").arg(qs(stain.referenceSource)));
        stain = backend.resolveStainNormalisation(stain.method, stain.referenceSource);
    }
    const std::unique_ptr<project::LoopRunner> loop = backend.makeLoop(resolved);
    const Published published(m_mutex, m_loop, loop.get());
    if (m_cancelRequested)
        loop->cancel();
    m_sinceProgress.start();
    m_lastPhase.clear();
    m_lastIteration = -1;

    project::IcmilLoopEvents events;
    events.progress = [this](const project::LoopProgress &p) {
        const QString phase = qs(p.phase);
        const bool change = phase != m_lastPhase || p.iteration != m_lastIteration;
        if (!change && p.done < p.total && m_sinceProgress.elapsed() < kProgressIntervalMs)
            return;
        m_sinceProgress.restart();
        m_lastPhase = phase;
        m_lastIteration = p.iteration;
        Q_EMIT progressChanged(TrainingProgress{p.iteration, p.iterations, phase, qs(p.step), p.done, p.total, p.loss, p.etaSeconds});
    };
    events.message = [this](const std::string &line) { Q_EMIT messageLogged(qs(line)); };
    events.epochFinished = [this](int k, const engine::EpochReport &r) {
        ClassifierEpoch e;
        e.iteration = k;
        e.epoch = r.epoch;
        e.epochs = r.epochs;
        e.trainLoss = r.trainLoss;
        if (r.hasValidation) {
            e.valLoss = r.valLoss;
            e.valAuc = r.val.auc;
        }
        e.seconds = r.seconds;
        e.best = r.best;
        Q_EMIT classifierEpochFinished(e);
    };
    events.fineTuningEpochFinished = [this, epochs = config.fineTuning.epochs](int k, const project::FineTuningEpoch &f) {
        Q_EMIT fineTuningEpochFinished(
            FineTuningEpochPoint{k, f.epoch, epochs, f.loss.total, f.validationMae, f.validationAccuracy, f.patchesPerSecond, f.best});
    };
    events.phaseFinished = [this](int k, const std::string &phase) { Q_EMIT phaseFinished(k, qs(phase)); };
    events.iterationFinished
        = [this, &config](const project::IterationSummary &summary) { Q_EMIT iterationFinished(iterationResult(config, summary)); };

    const project::IcmilLoopResult result = loop->run(events);
    TrainingOutcome outcome;
    for (const project::IterationSummary &summary : result.iterations)
        outcome.iterations.push_back(iterationResult(config, summary));
    outcome.cancelled = result.cancelled;
    outcome.resumedAt = result.resumedAt;
    outcome.device = qs(result.device);
    outcome.splitDescription = qs(result.splitDescription);
    outcome.seconds = result.seconds;
    if (const int best = bestIterationIndex(outcome.iterations); best >= 0)
        outcome.bestRun = outcome.iterations[static_cast<std::size_t>(best)].runName;
    setRunning(false);
    if (result.cancelled)
        Q_EMIT cancelled(outcome);
    else
        Q_EMIT finished(outcome);
}

IterationResult TrainingWorker::iterationResult(const project::IcmilLoopConfig &config, const project::IterationSummary &summary)
{
    IterationResult r;
    r.iteration = summary.iteration;
    r.encoder = qs(summary.encoder);
    const std::string runName = summary.runDir.empty() ? summary.encoder : summary.runDir.filename().string();
    r.runName = qs(runName);
    const fs::path runDir = project::ProjectLayout(config.projectRoot).runDir(runName);
    r.runDir = qs(runDir.string());
    copyFigures(summary.val, r.valAuc, r.valAccuracy, r.valF1);
    copyFigures(summary.test, r.testAuc, r.testAccuracy, r.testF1);
    r.trainLoss = summary.trainLoss;
    r.bestEpoch = summary.bestEpoch;
    r.epochsRun = summary.epochsRun;
    if (summary.iteration > 0) {
        r.fineTuneMaeBefore = summary.fineTuneMaeBefore;
        r.fineTuneMaeAfter = summary.fineTuneMaeAfter;
    }
    r.seconds = summary.seconds();
    addLocalisation(config, r);

    // The test split's ROC from the run's predictions (the engine's curve and AUC).
    try {
        const project::PredictionTable table = project::readPredictionsJson(runDir / "predictions.json");
        if (table.threshold && table.classNames.size() == 2) {
            r.threshold = *table.threshold;
            r.positiveClass = qs(table.classNames[1]);
        }
        if (table.classNames.size() != 2) {
            r.rocNote = QStringLiteral("ROC: binary tasks only (%1 classes)").arg(table.classNames.size());
            return r;
        }
        std::vector<int> labels;
        std::vector<double> scores;
        for (const project::SlidePredictionRow &row : table.rows)
            if (row.split == "test" && row.labelIndex >= 0 && row.probabilities.size() == 2) {
                labels.push_back(row.labelIndex);
                scores.push_back(row.probabilities[1]);
            }
        if (labels.empty()) {
            r.rocNote = QStringLiteral("ROC: no labelled test slides");
            return r;
        }
        for (const engine::RocPoint &p : engine::rocCurve(labels, scores))
            r.testRoc.emplace_back(p.fpr, p.tpr);
        r.testRocAuc = engine::rocAuc(labels, scores);
    } catch (const std::exception &e) {
        r.testRoc.clear();
        r.rocNote = QStringLiteral("ROC: ") + qs(e.what());
    }
    return r;
}

void TrainingWorker::addLocalisation(const project::IcmilLoopConfig &config, IterationResult &r)
{
    try {
        const std::optional<project::LocalisationScore> score
            = project::localiseRunAttention(config.slides, config.projectRoot, r.encoder.toStdString(), r.runName.toStdString());
        if (!score)
            return; // not a synthetic dataset (no ground truth), or no tumour slide scored
        r.localisedSlides = score->slides;
        r.patchAuc = score->patchAuc;
        r.topFraction = score->topFraction;
        r.topFractionCeiling = score->ceiling;
    } catch (const std::exception &) {
        // A damaged mask or attention file: the figures stay undefined, the rest of the row stands.
    }
}

LoopStateInfo TrainingWorker::readState(const project::IcmilLoopConfig &config)
{
    LoopStateInfo info;
    const fs::path stateFile = config.projectRoot / "icmil" / config.name / "state.json";
    info.stateFile = qs(stateFile.string());
    std::error_code ec;
    if (!fs::exists(stateFile, ec))
        return info;
    info.exists = true;
    try {
        const project::LoopState state = project::readLoopState(stateFile);
        info.settings = state.settings;
        for (const project::IterationSummary &summary : state.iterations) {
            if (summary.completed("train")) {
                ++info.iterationsDone;
                info.iterations.push_back(iterationResult(config, summary));
            } else {
                info.phaseUnderWay = true;
            }
        }
    } catch (const std::exception &e) {
        info.error = qs(e.what());
    }
    return info;
}

} // namespace icmil::ui
