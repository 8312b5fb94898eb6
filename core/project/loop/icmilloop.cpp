// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/loop/icmilloop.h"

#include "engine/distributed/distributedgroup.h"
#include "engine/mil/milcheckpoint.h"
#include "engine/runtime/runtime.h"
#include "project/training/bagdataset.h"
#include "project/dataset/labelstable.h"
#include "project/training/miltraining.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"
#include "project/dataset/slidelist.h"
#include "project/dataset/slideshare.h"
#include "project/features/distributedextraction.h"
#include "project/features/slidestain.h"
#include "project/features/slidetiler.h"
#include "project/features/tissuepatchpool.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <vector>
#include <chrono>
#include <exception>
#include <map>
#include <regex>
#include <thread>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string iterationEncoder(const std::string &name, int iteration)
{
    return name + "-it" + std::to_string(iteration);
}

std::optional<IterationSplitFigures> figuresOf(const SplitMetrics &split)
{
    if (!split.present)
        return std::nullopt;
    IterationSplitFigures figures;
    figures.slides = split.slides;
    if (std::isfinite(split.metrics.auc))
        figures.auc = split.metrics.auc;
    figures.accuracy = split.metrics.accuracy;
    figures.f1 = split.metrics.f1;
    figures.loss = split.loss;
    return figures;
}

// Removes what an earlier loop of this name made: its folder, features/<name>-itK/, runs/<name>-itK/,
// and its attention maps beside shared iteration-0 features.
void removeLoopOutputs(const ProjectLayout &layout, const fs::path &loopDir, const std::string &name, const std::string &iteration0Encoder)
{
    std::error_code ec;
    fs::remove_all(loopDir, ec);
    if (!iteration0Encoder.empty())
        fs::remove_all(layout.attentionDir(iteration0Encoder, iterationEncoder(name, 0)), ec);
    const std::regex pattern(std::regex_replace(name, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + R"(-it[0-9]+)");
    for (const fs::path &parent : {layout.root() / "features", layout.runsDir()}) {
        if (!fs::is_directory(parent, ec))
            continue;
        for (const fs::directory_entry &entry : fs::directory_iterator(parent, ec))
            if (entry.is_directory() && std::regex_match(entry.path().filename().string(), pattern))
                fs::remove_all(entry.path(), ec);
    }
}

std::vector<std::string> idsOf(const std::vector<LeftOutSlide> &slides)
{
    std::vector<std::string> ids;
    for (const LeftOutSlide &slide : slides)
        ids.push_back(slide.slideId);
    return ids;
}

// `slides` less those an iteration left out.
std::vector<SlideEntry> without(std::vector<SlideEntry> slides, const std::vector<LeftOutSlide> &leftOut)
{
    const std::vector<std::string> ids = idsOf(leftOut);
    std::erase_if(slides, [&](const SlideEntry &slide) { return std::find(ids.begin(), ids.end(), slide.slideId) != ids.end(); });
    return slides;
}

} // namespace

IcmilLoop::IcmilLoop(IcmilLoopConfig config, engine::DistributedGroup *group) : m_config(std::move(config)), m_group(group)
{ }

bool IcmilLoop::leader() const
{
    return !m_group || m_group->rank() == 0;
}

std::string IcmilLoop::nextKey(const std::string &what)
{
    return "icmil/loop/" + std::to_string(m_keys++) + "/" + what;
}

void IcmilLoop::onLeader(const std::string &step, const std::function<void()> &work)
{
    if (!m_group) {
        work();
        return;
    }
    // Rank 0 tells the others how it went: "done", "cancelled" (they stop too) or "error: ...".
    const std::string key = nextKey(step);
    if (!leader()) {
        const std::string outcome = m_group->allGatherText(key, {}).front();
        if (outcome == "cancelled")
            m_cancelled = true;
        else if (outcome.starts_with("error: "))
            throw ProjectError(outcome.substr(7));
        return;
    }
    std::exception_ptr error;
    std::string outcome = "done";
    try {
        work();
        if (m_cancelled)
            outcome = "cancelled";
    } catch (const std::exception &e) {
        error = std::current_exception();
        outcome = std::string("error: ") + (*e.what() ? e.what() : "rank 0 failed");
    }
    m_group->allGatherText(key, outcome);
    if (error)
        std::rethrow_exception(error);
}

template <typename Job, typename Work> auto IcmilLoop::runAsCurrent(Job &job, Work &&work)
{
    {
        const std::lock_guard lock(m_currentMutex);
        m_cancelCurrent = [&job] { job.cancel(); };
        if (m_cancelled)
            job.cancel();
    }
    struct Clear {
        IcmilLoop *loop;
        ~Clear()
        {
            const std::lock_guard lock(loop->m_currentMutex);
            loop->m_cancelCurrent = nullptr;
        }
    } clear{this};
    return work();
}

void IcmilLoop::cancel()
{
    m_cancelled = true;
    const std::lock_guard lock(m_currentMutex);
    if (m_cancelCurrent)
        m_cancelCurrent();
}

std::string IcmilLoop::settingsJson() const
{
    return loopSettingsJson(m_config);
}

engine::EmbedderConfig loopIterationEmbedder(const IcmilLoopConfig &loop, const fs::path &loopDir, const IterationSummary &iteration)
{
    engine::EmbedderConfig config = loop.embedder;
    const bool inLoopDir = iteration.iteration > 0 || calibratesEmbedder(loop);
    config.name = inLoopDir && !engine::isBuiltInEmbedder(iteration.embedderName) ? (loopDir / iteration.embedderName).string()
                                                                                  : iteration.embedderName;
    config.weights = inLoopDir && !iteration.embedderWeights.empty() ? loopDir / iteration.embedderWeights : iteration.embedderWeights;
    return config;
}

IcmilLoopResult IcmilLoop::run(const IcmilLoopEvents &events)
{
    const Clock::time_point start = Clock::now();
    IcmilLoopResult result;
    if (m_config.iterations < 0)
        throw ProjectError("An ICMIL loop needs 0 or more fine-tuning iterations");
    if (m_config.name.empty() || ProjectLayout::folderName(m_config.name) != m_config.name)
        throw ProjectError("'" + m_config.name + "' cannot name an ICMIL loop: use letters, digits, '-', '_' and '.'");
    if (!m_config.iteration0Encoder.empty() && ProjectLayout::folderName(m_config.iteration0Encoder) != m_config.iteration0Encoder)
        throw ProjectError("'" + m_config.iteration0Encoder + "' cannot name a feature folder: use letters, digits, '-', '_' and '.'");
    auto say = [&](const std::string &text) {
        if (events.message)
            events.message(text);
    };

    // The dataset: slide files, labels, and the split (fine-tuning sees train slides only).
    const fs::path slidesRoot = m_config.slides.empty() ? m_config.projectRoot : m_config.slides;
    m_labels = m_config.labelsCsv;
    if (m_labels.empty())
        m_labels = fs::exists(slidesRoot / "labels.csv") ? slidesRoot / "labels.csv" : m_config.projectRoot / "labels.csv";
    if (!fs::exists(m_labels))
        throw ProjectError("No labels CSV at '" + m_labels.string() + "': the ICMIL loop needs case_id,slide_id,label[,split]");
    const LabelsTable table = LabelsTable::read(m_labels);
    throwOnLabelsIssues(table, m_labels);
    for (const LabelsIssue &warning : table.warnings(!m_config.classNames.empty()))
        say(m_labels.filename().string() + " line " + std::to_string(warning.line) + ": " + warning.message);
    const DatasetSplit split = assignSplits(table, m_config.split);
    result.splitDescription = describeSplit(split);
    // Every slide is opened (and a little of it read) before any work: one that cannot be read
    // is left out, named, unless the loop is strict.
    m_unreadable.clear();
    m_negativeSlides.clear();
    m_negativeClass = -1;
    if (!m_config.negativeClass.empty()) {
        const auto found = std::find(split.classNames.begin(), split.classNames.end(), m_config.negativeClass);
        if (found == split.classNames.end()) {
            std::string labels;
            for (const std::string &name : split.classNames)
                labels += (labels.empty() ? "" : ", ") + name;
            throw ProjectError("The negative class '" + m_config.negativeClass + "' is not a label in " + m_labels.filename().string()
                               + " (its labels: " + labels + ")");
        }
        m_negativeClass = static_cast<int>(found - split.classNames.begin());
    }
    std::vector<SlideEntry> slides;
    std::vector<SlideEntry> trainSlides;
    for (const SlideSplit &s : split.slides) {
        const fs::path path = findSlideFile(slidesRoot, s.slideId);
        const std::string problem = path.empty() ? "no slide file in '" + slidesRoot.string() + "'" : slideReadProblem(path);
        if (!problem.empty()) {
            m_unreadable.push_back({s.slideId, problem});
            continue;
        }
        slides.push_back({s.slideId, path});
        if (s.split == Split::Train)
            trainSlides.push_back(slides.back());
        if (s.split == Split::Train && s.classIndex == m_negativeClass)
            m_negativeSlides.push_back(s.slideId);
    }
    if (!m_unreadable.empty()) {
        const std::string count = std::to_string(m_unreadable.size()) + " of " + std::to_string(split.slides.size()) + " slide(s)";
        if (m_config.strict || slides.empty())
            throw ProjectError(count + " cannot be read: " + describeLeftOut(m_unreadable)
                               + (slides.empty() ? "" : " (without --strict such slides are left out)"));
        say("Leaving out " + count + " that cannot be read: " + describeLeftOut(m_unreadable));
    }

    m_device = engine::resolveDevice(engine::parseDevice(m_config.device));
    result.device = m_device.str();

    // The state: resume a loop with the same settings, refuse one with others.
    const ProjectLayout layout(m_config.projectRoot);
    const fs::path loopDir = m_config.projectRoot / "icmil" / m_config.name;
    m_loopDir = loopDir;
    result.stateFile = loopDir / "state.json";
    result.iterationsCsv = loopDir / "iterations.csv";
    LoopState state;
    state.name = m_config.name;
    state.settings = settingsJson();
    // Rank 0 alone removes, reads and writes the state; the others read what it wrote.
    onLeader("state", [&] {
        if (m_config.overwrite)
            removeLoopOutputs(layout, loopDir, m_config.name, m_config.iteration0Encoder);
        if (fs::exists(result.stateFile)) {
            LoopState previous = readLoopState(result.stateFile);
            if (const std::vector<std::string> changed = loopSettingsChanges(previous.settings, state.settings); !changed.empty())
                throw ProjectError("The ICMIL loop '" + m_config.name + "' in '" + m_config.projectRoot.string()
                                   + "' was run with other settings (" + listSome(changed, 6)
                                   + "): use the same settings to resume it, or start it again (Train in the app, --overwrite "
                                     "on the command line; --name keeps both)");
            state.iterations = std::move(previous.iterations);
        }
        fs::create_directories(loopDir);
        // Saved before the first phase ends, so a loop stopped in it is there to resume, with its settings.
        if (!fs::exists(result.stateFile))
            writeLoopState(result.stateFile, state);
    });
    if (!leader())
        state.iterations = readLoopState(result.stateFile).iterations;
    const bool resuming = !state.iterations.empty();
    auto save = [&](int k, const std::string &phase) {
        onLeader("state after " + phase, [&] { writeLoopState(result.stateFile, state); });
        if (!leader()) // rank 0's figures of the phase (the bag classifier's, the slides left out)
            state.iterations[static_cast<std::size_t>(k)] = readLoopState(result.stateFile).iterations.at(static_cast<std::size_t>(k));
        if (events.phaseFinished)
            events.phaseFinished(k, phase);
    };

    for (int k = 0; k <= m_config.iterations; ++k) {
        if (static_cast<int>(state.iterations.size()) <= k) {
            IterationSummary fresh;
            fresh.iteration = k;
            fresh.encoder = k == 0 && !m_config.iteration0Encoder.empty() ? m_config.iteration0Encoder : iterationEncoder(m_config.name, k);
            if (k == 0) {
                fresh.embedderName = m_config.embedder.name;
                fresh.embedderWeights = calibratesEmbedder(m_config) ? fs::path("embedder-it0.pth") : m_config.embedder.weights;
            } else {
                const bool builtIn = engine::isBuiltInEmbedder(m_config.embedder.name);
                const std::string weights = "embedder-it" + std::to_string(k) + (builtIn ? ".pth" : ".pt");
                fresh.embedderName = builtIn ? m_config.embedder.name : weights;
                fresh.embedderWeights = builtIn ? fs::path(weights) : fs::path();
            }
            state.iterations.push_back(fresh);
        }
        IterationSummary &iteration = state.iterations[static_cast<std::size_t>(k)];
        if (iteration.completed("train")) {
            result.iterations.push_back(iteration);
            continue;
        }
        if (resuming && result.resumedAt < 0) {
            result.resumedAt = k;
            result.resumedPhase = k > 0 && !iteration.completed("finetune")                   ? "finetune"
                : k == 0 && calibratesEmbedder(m_config) && !iteration.completed("calibrate") ? "calibrate"
                : !iteration.completed("extract")                                             ? "extract"
                                                                                              : "train";
            say("Resuming the ICMIL loop '" + m_config.name + "' at iteration " + std::to_string(k) + ", phase " + result.resumedPhase);
        }
        const std::vector<std::pair<std::string, std::function<void()>>> phases = {
            {"finetune",
             [&] {
                 runFineTune(iteration, state.iterations[static_cast<std::size_t>(k - 1)],
                             without(trainSlides, state.iterations[static_cast<std::size_t>(k - 1)].leftOut), events);
             }},
            {"calibrate", [&] { onLeader("calibrate", [&] { runCalibrate(iteration, slides, events); }); }},
            {"extract", [&] { runExtract(iteration, slides, events); }},
            {"train", [&] { onLeader("train", [&] { runTrain(iteration, events); }); }},
        };
        for (const auto &[phase, work] : phases) {
            if ((phase == "finetune" && k == 0) || (phase == "calibrate" && (k > 0 || !calibratesEmbedder(m_config)))
                || iteration.completed(phase))
                continue;
            if (!m_cancelled)
                work();
            if (m_cancelled) {
                result.cancelled = true;
                result.leftOut = m_unreadable;
                result.seconds = secondsSince(start);
                return result;
            }
            iteration.completedPhases.push_back(phase);
            save(k, phase);
        }
        if (leader())
            writeIterationsCsv(result.iterationsCsv, state.iterations);
        result.iterations.push_back(iteration);
        if (events.iterationFinished)
            events.iterationFinished(iteration);
    }
    if (leader())
        writeIterationsCsv(result.iterationsCsv, state.iterations);
    result.leftOut = result.iterations.empty() ? m_unreadable : result.iterations.back().leftOut;
    result.seconds = secondsSince(start);
    return result;
}

void IcmilLoop::runFineTune(IterationSummary &iteration, const IterationSummary &previous, const std::vector<SlideEntry> &trainSlides,
                            const IcmilLoopEvents &events)
{
    const Clock::time_point start = Clock::now();
    std::unique_ptr<engine::Embedder> embedder = engine::makeEmbedder(loopIterationEmbedder(m_config, m_loopDir, previous));
    embedder->to(m_device);
    const fs::path teacherRun = ProjectLayout(m_config.projectRoot).runDir(iterationEncoder(m_config.name, previous.iteration));
    const engine::MilCheckpoint checkpoint = engine::readMilCheckpoint(teacherRun / "checkpoint.pth");
    std::shared_ptr<engine::MilModel> classifier = engine::instantiateMilModel(checkpoint, m_device);

    FineTuningConfig config = m_config.fineTuning;
    config.projectRoot = m_config.projectRoot;
    config.slides = trainSlides;
    config.negativeSlides = m_negativeSlides;
    config.negativeClass = m_negativeClass;
    config.tiling = m_config.extraction.tiling;
    config.stain = m_config.extraction.stain;
    const engine::EmbedderConfig target = loopIterationEmbedder(m_config, m_loopDir, iteration);
    config.output = target.weights.empty() ? fs::path(target.name) : target.weights;
    // Each iteration draws its own patches and augmentations, reproducibly.
    config.seed += static_cast<std::uint64_t>(iteration.iteration);
    config.distillation.seed += static_cast<std::uint64_t>(iteration.iteration);
    EmbedderFineTuning job(config, *embedder, *classifier, m_group);
    FineTuningEvents jobEvents;
    const int k = iteration.iteration;
    jobEvents.progress = [&](const FineTuningProgress &p) {
        if (!events.progress)
            return;
        LoopProgress progress{k, m_config.iterations + 1, "fine-tuning", p.phase, p.done, p.total};
        if (p.phase == "training")
            progress.step = "epoch " + std::to_string(p.epoch + 1) + "/" + std::to_string(p.epochs);
        if (p.phase == "training")
            progress.loss = p.loss;
        progress.etaSeconds = p.etaSeconds;
        events.progress(progress);
    };
    jobEvents.epochFinished = [&](const FineTuningEpoch &epoch) {
        if (events.fineTuningEpochFinished)
            events.fineTuningEpochFinished(k, epoch);
    };
    jobEvents.message = events.message;
    const FineTuningResult result = runAsCurrent(job, [&] { return job.run(jobEvents); });
    if (result.cancelled)
        return;
    iteration.fineTuneSeconds = secondsSince(start);
    iteration.fineTuneMaeBefore = result.initialMae;
    iteration.fineTuneMaeAfter = result.bestMae;
    iteration.fineTuneBestEpoch = result.bestEpoch;
    double patches = 0.0, seconds = 0.0;
    for (const FineTuningEpoch &epoch : result.history) {
        patches += static_cast<double>(epoch.patches);
        seconds += static_cast<double>(epoch.patches) / std::max(1e-9, epoch.patchesPerSecond);
    }
    iteration.fineTunePatchesPerSecond = patches / std::max(1e-9, seconds);
    iteration.fineTuneLoss = result.history.at(static_cast<std::size_t>(result.bestEpoch)).loss.total;
}

void IcmilLoop::runCalibrate(IterationSummary &iteration, const std::vector<SlideEntry> &slides, const IcmilLoopEvents &events)
{
    const Clock::time_point start = Clock::now();
    const int k = iteration.iteration;
    const auto total = static_cast<std::int64_t>(slides.size());
    auto report = [&](const std::string &step, std::int64_t done, std::int64_t of) {
        if (events.progress)
            events.progress({k, m_config.iterations + 1, "calibrating", step, done, of});
    };
    TissuePatchPool pool
        = collectTissuePatches(ProjectLayout(m_config.projectRoot), m_config.extraction.tiling, slides, [&](std::size_t i) {
              report(slides[i].slideId, static_cast<std::int64_t>(i), total);
              return !m_cancelled;
          });
    if (m_cancelled)
        return;
    if (pool.samples.size() < 2)
        throw ProjectError("Batch-norm calibration of " + m_config.embedder.name + " needs at least 2 tissue patches in the dataset, found "
                           + std::to_string(pool.samples.size()) + ": " + pool.noPatchesAdvice(m_config.extraction.tiling));
    std::unique_ptr<engine::Embedder> embedder = engine::makeEmbedder(m_config.embedder);
    embedder->to(m_device);
    // Each slide's stain from its grid (before the shuffle), as extraction estimates it; a slide
    // whose stain cannot be estimated is left out here as extraction will leave it out.
    const PoolStainMaps stain(m_config.extraction.stain, pool, embedder->inputSize(), [&](std::size_t i) {
        report("estimating stain", static_cast<std::int64_t>(i), static_cast<std::int64_t>(pool.slides.size()));
        return !m_cancelled;
    });
    if (m_cancelled)
        return;
    for (const auto &[index, reason] : stain.failures()) {
        std::erase_if(pool.samples, [index = index](const PatchSample &sample) { return sample.slide == index; });
        if (events.message)
            events.message("Batch-norm calibration leaves out a slide: " + reason);
    }
    if (pool.samples.size() < 2)
        throw ProjectError("Batch-norm calibration of " + m_config.embedder.name
                           + " needs at least 2 tissue patches whose stain can be "
                             "estimated, found "
                           + std::to_string(pool.samples.size()));
    shuffleSamples(pool.samples, m_config.embedder.seed ^ 0xCA11B8A7Eull);
    pool.samples.resize(
        static_cast<std::size_t>(std::min<std::int64_t>(m_config.calibrationPatches, static_cast<std::int64_t>(pool.samples.size()))));
    const std::int64_t patches = static_cast<std::int64_t>(pool.samples.size());
    const int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    PatchSampleReader reader(pool.slides, std::move(pool.samples), embedder->inputSize(), {100, threads, 4, {}});
    std::int64_t done = 0;
    embedder->recalibrateBatchNorm([&]() -> torch::Tensor {
        std::optional<PatchSampleReader::Batch> batch = m_cancelled ? std::nullopt : reader.next();
        if (!batch)
            return {};
        done += batch->patches.size(0);
        report("patches", done, patches);
        return stain.apply(*batch, m_device);
    });
    if (m_cancelled)
        return;
    embedder->save(loopIterationEmbedder(m_config, m_loopDir, iteration).weights);
    iteration.extractSeconds += secondsSince(start);
    if (events.message)
        events.message("Estimated the batch-norm statistics of the randomly initialised " + m_config.embedder.name + " on "
                       + std::to_string(patches) + " tissue patches");
}

void IcmilLoop::runExtract(IterationSummary &iteration, const std::vector<SlideEntry> &slides, const IcmilLoopEvents &events)
{
    const Clock::time_point start = Clock::now();
    ExtractionConfig config = m_config.extraction;
    config.projectDir = m_config.projectRoot;
    config.embedder = loopIterationEmbedder(m_config, m_loopDir, iteration);
    config.encoderName = iteration.encoder;
    config.device = m_device.str();
    config.overwrite = false; // files of this encoder come only from this iteration's embedder
    FeatureExtractor extractor(config);
    extractor.setMessageCallback(events.message);
    // Several ranks: each extracts its share of the slides, then all take the whole report.
    const std::vector<SlideEntry> share = m_group ? slideShare(slides, m_group->rank(), m_group->worldSize()) : slides;
    const int k = iteration.iteration;
    extractor.setProgressCallback([&](const ExtractionProgress &p) {
        if (!events.progress)
            return;
        LoopProgress progress{k, m_config.iterations + 1, "extracting", p.slideId, p.slideIndex, p.slideCount};
        progress.etaSeconds = p.etaSeconds;
        events.progress(progress);
    });
    ExtractionReport report = runAsCurrent(extractor, [&] { return extractor.run(share); });
    if (m_group) {
        report = gatherExtractionReports(*m_group, nextKey("extract"), report, slides);
        m_cancelled = m_cancelled || report.cancelled; // a rank stopped: the others stop too
    }
    if (report.cancelled)
        return;
    // What extraction could not use is left out (unless strict), named in the log and the state.
    std::vector<LeftOutSlide> failed, empty;
    std::string advice; // the first slide without patches says why (the others are alike, or listed)
    for (const SlideExtraction &slide : report.slides) {
        if (slide.status == SlideExtraction::Status::Failed) {
            failed.push_back({slide.slideId, slide.message});
        } else if (slide.patches == 0) {
            empty.push_back({slide.slideId, "no tissue patches"});
            if (advice.empty())
                advice = slide.message.empty() ? noTissueAdvice(m_config.extraction.tiling) : slide.message;
        }
    }
    if (!failed.empty() && (m_config.strict || failed.size() == slides.size()))
        throw ProjectError("Feature extraction failed for " + std::to_string(failed.size()) + " slide(s): " + describeLeftOut(failed));
    if (!empty.empty() && (m_config.strict || failed.size() + empty.size() == slides.size()))
        throw ProjectError(std::to_string(empty.size()) + " slide(s) have no patches (" + listSome(idsOf(empty), 3) + "): " + advice);
    if (!failed.empty() && events.message)
        events.message("Leaving out " + std::to_string(failed.size())
                       + " slide(s) whose features could not be extracted: " + describeLeftOut(failed));
    if (!empty.empty() && events.message)
        events.message("Leaving out " + std::to_string(empty.size()) + " slide(s) without tissue patches (" + listSome(idsOf(empty), 5)
                       + "): " + advice);
    iteration.leftOut = m_unreadable;
    iteration.leftOut.insert(iteration.leftOut.end(), failed.begin(), failed.end());
    iteration.leftOut.insert(iteration.leftOut.end(), empty.begin(), empty.end());
    iteration.extractSeconds += secondsSince(start);
    iteration.extractedPatches = 0;
    for (const SlideExtraction &slide : report.slides)
        iteration.extractedPatches += slide.patches;
}

void IcmilLoop::runTrain(IterationSummary &iteration, const IcmilLoopEvents &events)
{
    MilTrainingConfig config;
    config.data.projectRoot = m_config.projectRoot;
    config.data.labelsCsv = m_labels;
    config.data.encoder = iteration.encoder;
    config.data.classNames = m_config.classNames;
    config.data.split = m_config.split;
    config.data.leftOut = idsOf(iteration.leftOut);
    config.run = iterationEncoder(m_config.name, iteration.iteration); // the encoder's name unless iteration 0's features are shared
    config.model = m_config.model;
    config.trainer = m_config.trainer;
    config.trainer.device = m_device.str();
    config.overwrite = true; // a run folder left by a killed run of this phase is redone
    config.settingsJson = settingsJson();
    MilTrainingJob job(config);
    const int k = iteration.iteration;
    MilTrainingEvents jobEvents;
    jobEvents.progress = [&](const std::string &phase, int done, int total) {
        if (events.progress)
            events.progress({k, m_config.iterations + 1, "training", phase, done, total});
    };
    jobEvents.epochFinished = [&](const engine::EpochReport &report) {
        if (events.epochFinished)
            events.epochFinished(k, report);
    };
    const MilRunSummary summary = runAsCurrent(job, [&] { return job.run(jobEvents); });
    if (summary.cancelled) {
        m_cancelled = true;
        return;
    }
    iteration.trainSeconds = summary.seconds;
    iteration.runDir = summary.runDir;
    iteration.bestEpoch = summary.bestEpoch;
    iteration.epochsRun = summary.epochsRun;
    iteration.trainLoss = summary.train.present ? summary.train.loss : 0.0;
    iteration.threshold = summary.threshold;
    iteration.train = figuresOf(summary.train);
    iteration.val = figuresOf(summary.val);
    iteration.test = figuresOf(summary.test);
}

} // namespace icmil::project
