// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/project/applymodelworker.h"

#include "engine/mil/milconfig.h"
#include "engine/stain/stainconfig.h"
#include "project/backend/torchbackend.h"
#include "project/dataset/slidelist.h"
#include "project/model/bundlepredictionconfig.h"

#include <QImageReader>
#include <QMetaObject>

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

fs::path pathOf(const QString &path)
{
    return fs::path(path.toStdString());
}

// The LibTorch module, loaded on first use, Qt's image plugins first: as TrainingWorker does
// (trainingworker.cpp says why: loading holds the dynamic loader's lock, which a paint that reads
// its first pixmap would wait for).
project::TorchBackend &loadedBackend()
{
    static std::once_flag warmed;
    std::call_once(warmed, [] { QImageReader::supportedImageFormats(); });
    return project::torchBackend();
}

QString preprocessingText(const project::ExtractionConfig &p)
{
    const slide::PatchGridParams &grid = p.tiling.grid;
    QString text = ApplyModelWorker::tr("%1 px patches at %2, tissue preset %3")
                       .arg(grid.patchSize)
                       .arg(grid.targetMagnification ? QStringLiteral("%1x").arg(*grid.targetMagnification, 0, 'f', 1)
                                                     : ApplyModelWorker::tr("level %1").arg(grid.level))
                       .arg(qs(p.tiling.tissue.presetName));
    if (p.stain.active())
        text += ApplyModelWorker::tr(", stain normalisation %1").arg(qs(engine::stainMethodName(p.stain.method)));
    return text;
}

} // namespace

ApplyModelWorker::ApplyModelWorker(QObject *parent) : QObject(parent)
{
    qRegisterMetaType<BundleDescription>();
    qRegisterMetaType<ApplyModelRequest>();
    qRegisterMetaType<ApplyModelProgress>();
    qRegisterMetaType<ApplyModelOutcome>();
}

ApplyModelWorker::~ApplyModelWorker() = default;

void ApplyModelWorker::moveToNamedThread(QThread *thread)
{
    thread->setObjectName(QStringLiteral("icmil-apply-model"));
    moveToThread(thread);
    thread->start();
}

bool ApplyModelWorker::start(ApplyModelRequest request)
{
    {
        const std::lock_guard lock(m_mutex);
        if (m_running)
            return false;
        m_running = true;
    }
    m_cancelRequested = false;
    QMetaObject::invokeMethod(
        this, [this, request = std::move(request)] { run(request); }, Qt::QueuedConnection);
    return true;
}

void ApplyModelWorker::cancel()
{
    m_cancelRequested = true;
    const std::lock_guard lock(m_mutex);
    if (m_job != nullptr)
        m_job->cancel();
}

bool ApplyModelWorker::isRunning() const
{
    const std::lock_guard lock(m_mutex);
    return m_running;
}

bool ApplyModelWorker::stopAndWait(int ms)
{
    cancel();
    std::unique_lock lock(m_mutex);
    return m_idle.wait_for(lock, std::chrono::milliseconds(ms), [this] { return !m_running; });
}

void ApplyModelWorker::setRunning(bool running)
{
    {
        const std::lock_guard lock(m_mutex);
        m_running = running;
    }
    m_idle.notify_all();
}

BundleDescription ApplyModelWorker::describeBundle(const QString &path)
{
    BundleDescription d;
    d.path = path;
    std::error_code ec;
    if (!fs::is_regular_file(pathOf(path), ec)) { // no need to load LibTorch to say so
        d.error = tr("There is no model bundle at '%1'.").arg(path);
        return d;
    }
    try {
        const project::ModelBundleInfo info = loadedBackend().readModelBundleInfo(pathOf(path));
        d.name = qs(info.name);
        for (const std::string &name : info.classNames)
            d.classNames.append(qs(name));
        d.embedder
            = tr("%1%2 (features %3)").arg(qs(info.embedderName), info.torchScript ? tr(", TorchScript") : QString(), qs(info.encoder));
        d.classifier = qs(engine::milModelTypeName(info.modelType));
        if (info.threshold)
            d.threshold = info.classNames.size() == 2 ? tr("%1 on p(%2)").arg(*info.threshold, 0, 'g', 4).arg(d.classNames.at(1))
                                                      : QString::number(*info.threshold, 'g', 4);
        d.preprocessing = preprocessingText(info.preprocessing);
    } catch (const std::exception &e) {
        d = BundleDescription{};
        d.path = path;
        d.error = qs(e.what());
    }
    return d;
}

project::BundlePredictionConfig ApplyModelWorker::configFor(const ApplyModelRequest &request, QStringList &problems)
{
    project::BundlePredictionConfig config;
    config.bundle = pathOf(request.bundle);
    std::error_code ec;
    if (request.slides.size() == 1 && fs::is_directory(pathOf(request.slides.front()), ec)) {
        config.slidesLocation = pathOf(request.slides.front());
        project::SlideListing listing = project::listSlides(config.slidesLocation);
        config.slides = std::move(listing.slides);
        for (const std::string &problem : listing.problems)
            problems.append(qs(problem));
    } else {
        for (const QString &file : request.slides) {
            const fs::path path = pathOf(file);
            config.slides.push_back({path.stem().string(), path});
        }
        if (!config.slides.empty())
            config.slidesLocation = config.slides.front().path.parent_path();
    }
    config.outDir = pathOf(request.outDir);
    config.labelsCsv = pathOf(request.labelsCsv);
    config.device = request.device.toStdString();
    return config;
}

void ApplyModelWorker::run(const ApplyModelRequest &request)
{
    {
        const std::lock_guard lock(m_mutex);
        m_running = true; // also when called directly, without start()
    }
    Q_EMIT started();
    QString error;
    try {
        runJob(request);
        return;
    } catch (const std::exception &e) {
        error = qs(e.what());
    } catch (...) {
        error = tr("Applying the model stopped on an unknown error.");
    }
    setRunning(false);
    Q_EMIT failed(error);
}

void ApplyModelWorker::runJob(const ApplyModelRequest &request)
{
    const auto start = std::chrono::steady_clock::now();
    ApplyModelOutcome outcome;
    outcome.outDir = request.outDir;
    auto endCancelled = [&] {
        outcome.cancelled = true;
        outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        setRunning(false);
        Q_EMIT cancelled(outcome);
    };
    if (m_cancelRequested)
        return endCancelled(); // before anything was read or loaded

    const project::BundlePredictionConfig config = configFor(request, outcome.problems);
    outcome.slides = static_cast<int>(config.slides.size());
    project::TorchBackend &backend = loadedBackend(); // loads LibTorch on the first run
    backend.adoptConfiguredThreads();                 // Preferences > threads may have changed since
    const std::unique_ptr<project::BundlePredictionRunner> job = backend.makeBundlePrediction(config);
    // Published for cancel() while it runs, withdrawn before it is destroyed however the run ends.
    struct Published {
        ApplyModelWorker &m_worker;
        Published(ApplyModelWorker &worker, project::BundlePredictionRunner *job) : m_worker(worker)
        {
            const std::lock_guard lock(m_worker.m_mutex);
            m_worker.m_job = job;
        }
        ~Published()
        {
            const std::lock_guard lock(m_worker.m_mutex);
            m_worker.m_job = nullptr;
        }
    } published(*this, job.get());
    if (m_cancelRequested)
        job->cancel();

    m_sinceProgress.start();
    m_lastSlide.clear();
    project::BundlePredictionEvents events;
    events.extraction = [this](const project::ExtractionProgress &p) {
        const QString key = qs(p.slideId) + QLatin1Char('/') + qs(p.phase);
        const bool change = key != m_lastSlide;
        if (!change && p.patchesDone < p.patchesTotal && m_sinceProgress.elapsed() < kProgressIntervalMs)
            return;
        m_sinceProgress.restart();
        m_lastSlide = key;
        Q_EMIT progressChanged(ApplyModelProgress{qs(p.phase), p.slideIndex, p.slideCount, qs(p.slideId), p.patchesDone, p.patchesTotal,
                                                  p.patchesPerSecond, p.etaSeconds});
    };
    events.prediction = [this](int done, int total, const std::string &slideId) {
        Q_EMIT progressChanged(ApplyModelProgress{QStringLiteral("predicting"), done, total, qs(slideId), 0, 0, 0.0, -1.0});
    };
    events.message = [this](const std::string &line) { Q_EMIT messageLogged(qs(line)); };

    const project::BundlePredictionResult result = job->run(events);
    outcome.modelName = qs(result.info.name);
    outcome.device = qs(result.device);
    outcome.extracted = result.extracted;
    outcome.reused = result.reused;
    if (result.cancelled)
        return endCancelled();
    outcome.predicted = static_cast<int>(result.table.rows.size());
    outcome.patches = result.patches;
    outcome.predictionsCsv = qs(result.predictionsCsv.string());
    for (const project::SkippedSlide &slide : result.failed)
        outcome.failed.append(qs(slide.slideId) + QStringLiteral(": ") + qs(slide.reason));
    for (const std::string &slide : result.withoutPatches)
        outcome.withoutPatches.append(qs(slide));
    if (!result.table.rows.empty())
        for (const project::SlideEntry &slide : config.slides)
            if (slide.slideId == result.table.rows.front().slideId)
                outcome.firstSlide = qs(slide.path.string());
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    setRunning(false);
    Q_EMIT finished(outcome);
}

} // namespace icmil::ui
