// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/loop/loopdurationestimate.h"

#include "engine/embedders/embedder.h"
#include "engine/mil/milmodel.h"
#include "engine/embedders/patchinput.h"
#include "engine/runtime/runtime.h"
#include "engine/icmil/teacherstudent.h"
#include "project/features/featurestore.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"
#include "slide/tissue/patchgrid.h"
#include "slide/io/slidesource.h"
#include "slide/tissue/tissuedetector.h"
#include "slide/tissue/tissuemap.h"

#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <thread>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// Waits for the device to finish `result` (CUDA runs asynchronously) by reading one number back.
void settle(const torch::Tensor &result)
{
    (void)result.sum().item<double>();
}

// Runs `once` (which handles `batch` items) at least once and then until `budget` seconds have
// passed or `stop` says so; returns the seconds per item.
template <typename Once, typename Stop> double timePerItem(Once &&once, std::int64_t batch, double budget, Stop &&stop)
{
    const Clock::time_point start = Clock::now();
    std::int64_t items = 0;
    do {
        once();
        items += batch;
    } while (secondsSince(start) < budget && !stop());
    return secondsSince(start) / static_cast<double>(std::max<std::int64_t>(1, items));
}

// The batch that fills about a third of `budget` given `perItem` seconds per item (a CPU's cost
// per patch hardly depends on the batch), at most `configured`; the configured batch on CUDA.
std::int64_t probeBatch(bool cpu, double perItem, double budget, int configured)
{
    const std::int64_t most = std::max(1, configured);
    if (!cpu)
        return most;
    const double fit = budget / 3.0 / std::max(perItem, 1e-6);
    return std::clamp<std::int64_t>(static_cast<std::int64_t>(fit), 1, std::min<std::int64_t>(most, 16));
}

} // namespace

LoopDurationEstimator::LoopDurationEstimator(IcmilLoopConfig config, std::vector<SlideEntry> slides)
    : m_config(std::move(config)), m_slides(std::move(slides))
{ }

LoopWorkload LoopDurationEstimator::workload()
{
    const fs::path slidesRoot = m_config.slides.empty() ? m_config.projectRoot : m_config.slides;
    if (m_slides.empty())
        m_slides = listSlides(slidesRoot).slides;
    if (m_slides.empty())
        throw ProjectError("No slides in '" + slidesRoot.string() + "': nothing to estimate");

    LoopWorkload w;
    w.slides = static_cast<int>(m_slides.size());
    const ProjectLayout layout(m_config.projectRoot);
    m_patchCounts.assign(m_slides.size(), -1);
    for (std::size_t i = 0; i < m_slides.size() && !m_cancelled; ++i) {
        std::error_code ec;
        const fs::path file = layout.patchFile(m_slides[i].slideId);
        if (!fs::exists(file, ec))
            continue;
        try {
            m_patchCounts[i] = static_cast<std::int64_t>(readPatchFile(file).coords.size());
            w.tiledPatches += m_patchCounts[i];
        } catch (const std::exception &) {
            m_patchCounts[i] = -1; // a damaged patch file: the loop tiles the slide again
        }
    }
    w.untiledSlides = static_cast<int>(std::count(m_patchCounts.begin(), m_patchCounts.end(), -1));
    // The split's fractions (a labels CSV's own split column may differ a little).
    const auto share = [&](double fraction) { return static_cast<int>(std::lround(fraction * w.slides)); };
    w.validationSlides = share(m_config.split.valFraction);
    w.trainSlides = std::max(1, w.slides - w.validationSlides - share(m_config.split.testFraction));
    w.fineTuningIterations = m_config.iterations;
    w.classifierEpochs = m_config.trainer.epochs;
    w.fineTuneEpochs = m_config.fineTuning.epochs;
    w.fineTunePatches = m_config.fineTuning.patchesPerEpoch;
    w.fineTuneValidationFraction = m_config.fineTuning.validationFraction;
    w.maxValidationPatches = m_config.fineTuning.maxValidationPatches;
    const int threads = m_config.extraction.readerThreads;
    w.readerThreads = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    return w;
}

LoopProbeTimings LoopDurationEstimator::probe(std::int64_t bagSize)
{
    const Clock::time_point start = Clock::now();
    LoopProbeTimings timings;
    const torch::Device device = engine::resolveDevice(engine::parseDevice(m_config.device));
    timings.device = device.str();
    engine::EmbedderConfig embedderConfig = m_config.embedder;
    if (engine::isBuiltInEmbedder(embedderConfig.name))
        embedderConfig.weights.clear(); // a built-in costs the same with random weights (and reads no file)
    const std::unique_ptr<engine::Embedder> embedder = engine::makeEmbedder(embedderConfig);
    embedder->to(device);
    embedder->setTraining(false);
    probeSlide(timings, embedder->inputSize(), kProbeSeconds * 0.35);
    if (!m_cancelled)
        probeModels(timings, *embedder, bagSize > 0 ? bagSize : std::max<std::int64_t>(1, timings.probedSlidePatches),
                    kProbeSeconds * 0.65);
    timings.seconds = secondsSince(start);
    return timings;
}

void LoopDurationEstimator::probeSlide(LoopProbeTimings &timings, int inputSize, double budget)
{
    if (m_slides.empty())
        return;
    // An untiled slide when there is one (its tiling is timed too), else the first; one that
    // cannot be opened (the loop leaves it out) is passed over for the next.
    std::vector<std::size_t> order(m_slides.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_partition(order.begin(), order.end(), [&](std::size_t i) { return i < m_patchCounts.size() && m_patchCounts[i] < 0; });
    std::unique_ptr<slide::SlideSource> source;
    std::size_t index = 0;
    std::string firstError;
    for (const std::size_t i : order) {
        try {
            source = slide::SlideSource::open(m_slides[i].path);
            index = i;
            break;
        } catch (const std::exception &e) {
            if (firstError.empty())
                firstError = e.what();
        }
    }
    if (!source)
        throw ProjectError("No slide of the dataset can be opened: " + firstError);
    const SlideEntry &entry = m_slides[index];
    const slide::PatchGridParams &params = m_config.extraction.tiling.grid;
    slide::PatchGrid grid;
    if (index < m_patchCounts.size() && m_patchCounts[index] >= 0) {
        grid = slide::PatchGrid::build(*source, nullptr, params);
        grid.coords.clear();
        for (const auto &c : readPatchFile(ProjectLayout(m_config.projectRoot).patchFile(entry.slideId)).coords)
            grid.coords.push_back({c[0], c[1]});
    } else {
        const Clock::time_point tiling = Clock::now();
        const slide::TissueMap tissue = slide::TissueDetector(m_config.extraction.tiling.tissue).detect(*source);
        grid = slide::PatchGrid::build(*source, &tissue, params);
        timings.tilingPerSlide = secondsSince(tiling);
    }
    timings.probedSlidePatches = static_cast<std::int64_t>(grid.coords.size());
    if (grid.coords.empty()) // no tissue: read from the lattice, the cost of a read is the same
        grid = slide::PatchGrid::build(*source, nullptr, params);
    if (grid.coords.empty())
        return;

    // Patches spread over the grid (neighbours would share the slide's decoded tiles).
    const auto count = static_cast<std::int64_t>(grid.coords.size());
    std::int64_t next = 0;
    timings.readPerPatch = timePerItem(
        [&] {
            const slide::PatchCoord &c = grid.coords[static_cast<std::size_t>((next++ * 7919) % count)];
            torch::Tensor bgra = torch::empty({1, grid.readSize, grid.readSize, 4}, torch::kUInt8);
            source->readRegionArgb(grid.readLevel, c.x, c.y, grid.readSize, grid.readSize,
                                   reinterpret_cast<std::uint32_t *>(bgra.data_ptr<std::uint8_t>()));
            (void)engine::patchesToModelInput(bgra, inputSize, torch::kCPU);
        },
        1, budget, [&] { return m_cancelled.load(); });
}

void LoopDurationEstimator::probeModels(LoopProbeTimings &timings, engine::Embedder &embedder, std::int64_t bagSize, double budget)
{
    const torch::Device device = embedder.device();
    const bool cpu = timings.cpu();
    const int size = embedder.inputSize();
    const auto stop = [&] { return m_cancelled.load(); };

    // Extraction's forward passes.
    {
        const torch::NoGradGuard noGrad;
        const Clock::time_point warm = Clock::now();
        settle(embedder.forward(torch::rand({1, 3, size, size}, device)));
        const std::int64_t n = probeBatch(cpu, secondsSince(warm), budget * 0.3, m_config.extraction.batchSize);
        const torch::Tensor batch = torch::rand({n, 3, size, size}, device);
        if (!cpu)
            settle(embedder.forward(batch)); // CUDA's first batch of a size sets up kernels
        timings.embedPerPatch = timePerItem([&] { settle(embedder.forward(batch)); }, n, budget * 0.3, stop);
    }
    if (m_cancelled)
        return;

    // The bag classifier, as each iteration retrains it.
    engine::MilModelConfig modelConfig = m_config.model;
    modelConfig.inputDim = embedder.featureDim();
    modelConfig.classes = std::max(2, static_cast<int>(m_config.classNames.size()));
    std::shared_ptr<engine::MilModel> model = engine::makeMilModel(modelConfig);
    model->to(device);

    // Fine-tuning's teacher-student steps (confidence weighting costs next to nothing more).
    {
        engine::DistillationConfig distillation = m_config.fineTuning.distillation;
        distillation.confidenceWeighted = false;
        engine::TeacherStudentDistiller distiller(embedder, *model, distillation);
        const Clock::time_point warm = Clock::now();
        distiller.step(torch::rand({1, 3, size, size}, device));
        const std::int64_t n = probeBatch(cpu, secondsSince(warm), budget * 0.45, m_config.fineTuning.batchSize);
        const torch::Tensor batch = torch::rand({n, 3, size, size}, device);
        timings.distillPerPatch = timePerItem([&] { distiller.step(batch); }, n, budget * 0.45, stop);
    }
    if (m_cancelled)
        return;

    const torch::Tensor bag = torch::randn({bagSize, modelConfig.inputDim}, device);
    const torch::Tensor label = torch::zeros({1}, torch::TensorOptions(device).dtype(torch::kLong));
    model->train();
    torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-4));
    namespace F = torch::nn::functional;
    timings.bagStep = timePerItem(
        [&] {
            adam.zero_grad();
            const engine::MilOutput out = model->forward(bag);
            torch::Tensor loss = F::cross_entropy(out.logits, label);
            if (out.tier1Logits.defined())
                loss = loss + F::cross_entropy(out.tier1Logits, label.expand({out.tier1Logits.size(0)}));
            loss.backward();
            adam.step();
            settle(loss);
        },
        1, budget * 0.15, stop);
    model->eval();
    const torch::NoGradGuard noGrad;
    timings.bagForward = timePerItem([&] { settle(model->forward(bag).logits); }, 1, budget * 0.1, stop);
}

LoopDurationEstimate LoopDurationEstimator::run()
{
    const LoopWorkload counts = workload();
    const std::int64_t tiledSlides = counts.slides - counts.untiledSlides;
    const std::int64_t bagSize = tiledSlides > 0 ? counts.tiledPatches / tiledSlides : 0;
    return estimate(counts, probe(bagSize));
}

LoopDurationEstimate LoopDurationEstimator::estimate(const LoopWorkload &w, const LoopProbeTimings &t)
{
    LoopDurationEstimate e;
    e.workload = w;
    e.timings = t;

    // Patches: measured where tiled, assumed elsewhere.
    const int tiled = w.slides - w.untiledSlides;
    std::int64_t assumed = 0;
    if (tiled > 0) {
        assumed = w.tiledPatches / tiled;
        e.patchSource = w.untiledSlides == 0 ? "the project's patch files of all " + std::to_string(w.slides) + " slides"
                                             : "the project's patch files of " + std::to_string(tiled) + " slides; the other "
                + std::to_string(w.untiledSlides) + " assumed to have their mean, " + std::to_string(assumed);
    } else if (t.probedSlidePatches >= 0) {
        assumed = t.probedSlidePatches;
        e.patchSource = "no slide tiled yet: each assumed to have as many as one slide's tissue gives, " + std::to_string(assumed);
    } else {
        e.patchSource = "no slide tiled or probed: patches unknown";
    }
    e.patches = w.tiledPatches + assumed * w.untiledSlides;
    e.bagSize = w.slides > 0 ? e.patches / w.slides : 0;

    const double iterations = w.fineTuningIterations + 1.0;
    const double readers = std::max(1, w.readerThreads);
    // On a CPU readers and model share the cores; on CUDA the readers keep the device busy.
    const auto perPatch = [&](double compute) { return t.cpu() ? t.readPerPatch + compute : std::max(t.readPerPatch / readers, compute); };

    e.tilingSeconds = w.untiledSlides * t.tilingPerSlide;
    e.extractionSeconds = iterations * static_cast<double>(e.patches) * perPatch(t.embedPerPatch);

    const double trainPatches = w.slides > 0 ? static_cast<double>(e.patches) * w.trainSlides / w.slides : 0.0;
    double held = 0.0;
    if (trainPatches >= 2.0)
        held = std::clamp(std::round(w.fineTuneValidationFraction * trainPatches), 1.0,
                          std::min(std::max(1.0, static_cast<double>(w.maxValidationPatches)), trainPatches - 1.0));
    e.fineTuningSeconds = w.fineTuningIterations
        * (w.fineTuneEpochs * static_cast<double>(w.fineTunePatches) * perPatch(t.distillPerPatch)
           + (w.fineTuneEpochs + 1.0) * held * perPatch(2.0 * t.embedPerPatch));

    e.trainingSeconds
        = iterations * (w.classifierEpochs * (w.trainSlides * t.bagStep + w.validationSlides * t.bagForward) + w.slides * t.bagForward);
    e.totalSeconds = e.tilingSeconds + e.extractionSeconds + e.fineTuningSeconds + e.trainingSeconds;
    return e;
}

} // namespace icmil::project
