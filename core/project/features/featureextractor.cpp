// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/featureextractor.h"

#include "engine/runtime/autocastscope.h"
#include "engine/engineerror.h"
#include "engine/embedders/patchinput.h"
#include "engine/runtime/runtime.h"
#include "project/atomicfile.h"
#include "project/features/featurestore.h"
#include "project/features/patchbatchreader.h"
#include "project/features/slidestain.h"
#include "slide/io/slidesource.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

namespace icmil::project {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr std::int64_t kProgressIntervalNs = 100'000'000; // at most ten reports a second

} // namespace

int ExtractionReport::failed() const
{
    return static_cast<int>(
        std::count_if(slides.begin(), slides.end(), [](const SlideExtraction &s) { return s.status == SlideExtraction::Status::Failed; }));
}

FeatureExtractor::FeatureExtractor(ExtractionConfig config) : FeatureExtractor(config, engine::makeEmbedder(config.embedder))
{ }

FeatureExtractor::FeatureExtractor(ExtractionConfig config, std::unique_ptr<engine::Embedder> embedder)
    : m_config(std::move(config)), m_layout(m_config.projectDir), m_embedder(std::move(embedder)), m_stain(m_config.stain)
{
    if (!m_embedder)
        throw engine::EngineError("Feature extraction needs an embedder");
    if (m_config.batchSize < 1)
        throw engine::EngineError("The batch size must be at least 1 (got " + std::to_string(m_config.batchSize) + ")");
    const c10::Device device = engine::resolveDevice(engine::parseDevice(m_config.device));
    m_embedder->to(device);
    m_embedder->setTraining(false);
    m_deviceName = device.str();
    m_modelBatch = m_config.batchSize;
}

FeatureExtractor::~FeatureExtractor() = default;

ExtractionReport FeatureExtractor::run(const std::vector<SlideEntry> &slides)
{
    const auto start = Clock::now();
    m_runPatches = 0;
    m_runPatchesExpected = 0;
    m_runSeconds = 0.0;
    ExtractionReport result;
    result.embedderName = encoderName();
    result.device = m_deviceName;
    const int count = static_cast<int>(slides.size());
    for (int i = 0; i < count && !m_cancelled; ++i) {
        SlideExtraction outcome = extractSlide(slides[static_cast<std::size_t>(i)], i, count);
        if (m_cancelled && outcome.status != SlideExtraction::Status::Extracted && outcome.status != SlideExtraction::Status::Skipped)
            break; // the slide cut short is not a failure; it is done again on resume
        if (outcome.status == SlideExtraction::Status::Extracted)
            result.patches += outcome.patches;
        result.slides.push_back(std::move(outcome));
    }
    result.cancelled = m_cancelled;
    result.seconds = secondsSince(start);
    ExtractionProgress done;
    done.slideIndex = count;
    done.slideCount = count;
    done.phase = "done";
    done.patchesPerSecond = m_runSeconds > 0.0 ? static_cast<double>(m_runPatches) / m_runSeconds : 0.0;
    done.etaSeconds = 0.0;
    report(done, true);
    return result;
}

SlideExtraction FeatureExtractor::extractSlide(const SlideEntry &slide, int index, int count)
{
    const auto start = Clock::now();
    SlideExtraction outcome;
    outcome.slideId = slide.slideId;
    outcome.featureFile = m_layout.featureFile(encoderName(), slide.slideId);

    ExtractionProgress progress;
    progress.slideIndex = index;
    progress.slideCount = count;
    progress.slideId = slide.slideId;

    std::error_code ec;
    if (!m_config.overwrite && fs::exists(outcome.featureFile, ec)) {
        // Files are written atomically: one that reads back is complete.
        try {
            const FeatureFileSummary existing = describeFeatureFile(outcome.featureFile);
            // Made by this encoder from patches the same tissue settings chose (another preset
            // keeps other patches: extract again).
            if (existing.attributes.encoder == encoderName() && existing.dim == m_embedder->featureDim()
                && existing.attributes.tissueSettings == tissueSettingsKey(m_config.tiling)
                && existing.attributes.stainSettings == stainSettingsKey(m_config.stain)) {
                outcome.status = SlideExtraction::Status::Skipped;
                outcome.patches = existing.count;
                outcome.message = existing.count > 0 ? "already extracted" : noTissueAdvice(m_config.tiling);
                progress.phase = "skipped";
                progress.patchesDone = progress.patchesTotal = existing.count;
                report(progress, true);
                return outcome;
            }
        } catch (const std::exception &) {
            // unreadable or another encoder's: extract again, replacing it atomically
        }
    }

    try {
        progress.phase = "tiling";
        report(progress, true);
        std::shared_ptr<const slide::SlideSource> source = slide::SlideSource::open(slide.path);
        const SlideTiling tiling = SlideTiler(m_layout, m_config.tiling).tile(*source, slide.slideId);
        const auto patches = static_cast<std::int64_t>(tiling.grid.coords.size());
        const std::int64_t dim = m_embedder->featureDim();
        m_runPatchesExpected += patches;

        SlideFeatures features;
        features.slideId = slide.slideId;
        features.count = patches;
        features.dim = dim;
        features.features.resize(static_cast<std::size_t>(patches * dim));
        features.coords.reserve(static_cast<std::size_t>(patches));
        for (const slide::PatchCoord &c : tiling.grid.coords)
            features.coords.push_back({c.x, c.y});

        const c10::Device device = m_embedder->device();
        torch::Tensor stainMap;   // the slide's map to the reference stain
        std::string stainProfile; // and the slide's own stain, for the file
        if (m_stain.active() && patches > 0) {
            const engine::StainProfile profile
                = estimateSlideStain(*source, tiling.grid.readLevel, tiling.grid.readSize, tiling.grid.coords, m_embedder->inputSize());
            stainMap = m_stain.slideTransform(profile);
            stainProfile = stainProfileJson(profile);
        }
        PatchBatchReader::Options options;
        options.batchSize = m_config.batchSize;
        options.threads
            = m_config.readerThreads > 0 ? m_config.readerThreads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        options.batchesAhead = std::max(m_config.batchesAhead, options.threads);
        options.pinMemory = device.is_cuda();
        PatchBatchReader reader(source, tiling.grid, options);

        progress.phase = "extracting";
        progress.patchesTotal = patches;
        report(progress, true);
        torch::NoGradGuard noGrad;
        const auto extractStart = Clock::now();
        while (std::optional<PatchBatchReader::Batch> batch = reader.next()) {
            if (m_cancelled) {
                reader.stop();
                outcome.message = "cancelled";
                return outcome;
            }
            torch::Tensor input = engine::patchesToModelInput(batch->bgra, m_embedder->inputSize(), device);
            if (stainMap.defined())
                input = m_stain.apply(input, stainMap);
            std::vector<torch::Tensor> parts;
            engine::runInChunks(
                input.size(0), m_modelBatch,
                [&](std::int64_t offset, std::int64_t size) {
                    engine::AutocastScope autocast(device, m_config.halfPrecision);
                    parts.push_back(m_embedder->forward(input.slice(0, offset, offset + size)).to(torch::kCPU, torch::kFloat32));
                },
                [&](int chunk) {
                    if (m_message)
                        m_message("Out of memory on " + device.str() + ": continuing with " + std::to_string(chunk) + " patches per batch");
                });
            const torch::Tensor output = (parts.size() == 1 ? parts.front() : torch::cat(parts)).contiguous();
            if (output.dim() != 2 || output.size(0) != input.size(0) || output.size(1) != dim)
                throw engine::EngineError("The embedder returned features of the wrong shape");
            std::memcpy(features.features.data() + batch->first * dim, output.data_ptr<float>(),
                        static_cast<std::size_t>(output.numel()) * sizeof(float));
            progress.patchesDone = batch->first + output.size(0);
            m_runPatches += output.size(0);
            const double slideSeconds = secondsSince(extractStart);
            const double rate
                = (m_runSeconds + slideSeconds) > 0.0 ? static_cast<double>(m_runPatches) / (m_runSeconds + slideSeconds) : 0.0;
            progress.patchesPerSecond = rate;
            // Remaining: this slide's patches, then the other slides at this run's mean size.
            const double meanPerSlide = static_cast<double>(m_runPatchesExpected) / (index + 1);
            const double remaining = static_cast<double>(patches - progress.patchesDone) + meanPerSlide * (count - index - 1);
            progress.etaSeconds = rate > 0.0 ? remaining / rate : -1.0;
            report(progress, false);
        }
        m_runSeconds += secondsSince(extractStart);

        features.attributes = tiling.attributes;
        features.attributes.encoder = encoderName();
        features.attributes.stainSettings = stainSettingsKey(m_config.stain);
        features.attributes.stainProfile = stainProfile;
        fs::create_directories(outcome.featureFile.parent_path(), ec);
        writeFeatureFile(outcome.featureFile, features);
        outcome.status = SlideExtraction::Status::Extracted;
        outcome.patches = patches;
        if (patches == 0)
            outcome.message = tiling.noPatches; // why, and what to change
    } catch (const ProjectWriteError &) {
        throw; // the project cannot be written: every slide would fail alike, so the job stops
    } catch (const std::exception &e) {
        outcome.status = SlideExtraction::Status::Failed;
        outcome.message = e.what();
    }
    outcome.seconds = secondsSince(start);
    return outcome;
}

void FeatureExtractor::report(ExtractionProgress progress, bool force)
{
    if (!m_progress)
        return;
    const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    if (!force && now - m_lastReportNs < kProgressIntervalNs)
        return;
    m_lastReportNs = now;
    m_progress(progress);
}

} // namespace icmil::project
