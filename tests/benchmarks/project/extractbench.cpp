// SPDX-License-Identifier: GPL-3.0-or-later
// icmil-extract-bench: how fast feature extraction runs, against its two limits measured in the
// same run on the same patches: reading alone (reader threads, no model) and computing alone (the
// model on random patches of the same shape). Target: pipeline >= 0.85 x min(read, compute).
// With --stain, the pipeline again with each stain normalisation (the slide's estimate included)
// against the plain pipeline, measured before and after it (after one warm-up run). Target: >= 0.9 x plain (at most 10%
// slower).
//
//   icmil-extract-bench [--embedders tiny-cnn,resnet50-trunc] [--device auto] [--batch-size 64]
//                       [--max-patches N] [--stain macenko,reinhard] [--json FILE] [--dir DIR]
//
// The dataset (4 synthetic 12000 x 9600 slides, 20x) is generated once into DIR (default
// /tmp/icmil-extract-bench) and tiled once; every measurement then reads the same patches.

#include "engine/runtime/autocastscope.h"
#include "engine/embedders/embedder.h"
#include "engine/embedders/patchinput.h"
#include "engine/runtime/runtime.h"
#include "project/features/featureextractor.h"
#include "project/features/slidestain.h"
#include "project/features/patchbatchreader.h"
#include "project/dataset/syntheticdataset.h"
#include "slide/io/slidesource.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace icmil;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    std::vector<std::string> embedders{"tiny-cnn", "resnet50-trunc"};
    std::string device = "auto";
    int batchSize = 64;
    std::int64_t maxPatches = 0;     // 0: tiny-cnn all, resnet50-trunc 512 (CPU) per measurement
    std::vector<std::string> stains; // stain normalisations to compare with the plain pipeline
    std::string json;
    fs::path dir = fs::temp_directory_path() / "icmil-extract-bench";
};

struct Figures {
    std::string embedder;
    std::string device;
    std::int64_t patches = 0;
    double readRate = 0, computeRate = 0, pipelineRate = 0;
    double ratio() const { return pipelineRate / std::min(readRate, computeRate); }
    double plainAfterRate = 0;                              // the plain pipeline again, after the stain runs
    std::vector<std::pair<std::string, double>> stainRates; // method, pipeline patches/s
    double plainRate() const { return plainAfterRate > 0 ? 0.5 * (pipelineRate + plainAfterRate) : pipelineRate; }
    // The model alone with each normalisation against without (interleaved, twice each), and the
    // per-slide estimates' time as a share of the plain pipeline's.
    std::vector<std::pair<std::string, double>> stainComputeRatios;
    double estimateSeconds = 0;
};

double seconds(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::vector<std::string> split(const std::string &text)
{
    std::vector<std::string> parts;
    std::stringstream in(text);
    for (std::string part; std::getline(in, part, ',');)
        if (!part.empty())
            parts.push_back(part);
    return parts;
}

// The slides (and their tiling) covering at least `wanted` patches, from the front of the list.
std::vector<project::SlideEntry> slidesFor(const std::vector<project::SlideEntry> &all, const project::SlideTiler &tiler,
                                           std::int64_t wanted, std::vector<slide::PatchGrid> &grids, std::int64_t &patches)
{
    std::vector<project::SlideEntry> chosen;
    patches = 0;
    grids.clear();
    for (const project::SlideEntry &entry : all) {
        if (wanted > 0 && patches >= wanted)
            break;
        const auto source = slide::SlideSource::open(entry.path);
        grids.push_back(tiler.tile(*source, entry.slideId).grid);
        patches += static_cast<std::int64_t>(grids.back().coords.size());
        chosen.push_back(entry);
    }
    return chosen;
}

double readOnlyRate(const std::vector<project::SlideEntry> &slides, const std::vector<slide::PatchGrid> &grids, int batchSize, bool pin)
{
    std::int64_t patches = 0;
    const auto start = Clock::now();
    for (std::size_t i = 0; i < slides.size(); ++i) {
        std::shared_ptr<const slide::SlideSource> source = slide::SlideSource::open(slides[i].path);
        project::PatchBatchReader::Options options;
        options.batchSize = batchSize;
        options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        options.pinMemory = pin;
        project::PatchBatchReader reader(source, grids[i], options);
        while (auto batch = reader.next())
            patches += batch->bgra.size(0);
    }
    return static_cast<double>(patches) / seconds(start);
}

double computeOnlyRate(engine::Embedder &embedder, std::int64_t patches, int readSize, int batchSize, bool half,
                       engine::StainMethod stain = engine::StainMethod::None)
{
    engine::StainNormalisation settings;
    settings.method = stain;
    const engine::StainNormaliser normaliser(settings);
    const torch::Tensor map = normaliser.slideTransform(engine::builtInStainReference());
    const torch::Device device = embedder.device();
    torch::manual_seed(1);
    const torch::Tensor batch = torch::randint(0, 256, {batchSize, readSize, readSize, 4}, torch::kUInt8);
    torch::NoGradGuard noGrad;
    auto step = [&](const torch::Tensor &b) {
        const torch::Tensor input = normaliser.apply(engine::patchesToModelInput(b, embedder.inputSize(), device), map);
        engine::AutocastScope autocast(device, half);
        return embedder.forward(input).to(torch::kCPU, torch::kFloat32);
    };
    step(batch); // warm-up (allocator, cuDNN autotune)
    std::int64_t done = 0;
    const auto start = Clock::now();
    while (done < patches) {
        const std::int64_t n = std::min<std::int64_t>(batchSize, patches - done);
        step(n == batchSize ? batch : batch.slice(0, 0, n));
        done += n;
    }
    return static_cast<double>(done) / seconds(start);
}

} // namespace

int main(int argc, char **argv)
{
    icmil::engine::preferPassiveOpenMpWait(argv);
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool hasValue = i + 1 < argc;
        if (a == "--embedders" && hasValue)
            options.embedders = split(argv[++i]);
        else if (a == "--device" && hasValue)
            options.device = argv[++i];
        else if (a == "--batch-size" && hasValue)
            options.batchSize = std::stoi(argv[++i]);
        else if (a == "--max-patches" && hasValue)
            options.maxPatches = std::stoll(argv[++i]);
        else if (a == "--stain" && hasValue)
            options.stains = split(argv[++i]);
        else if (a == "--json" && hasValue)
            options.json = argv[++i];
        else if (a == "--dir" && hasValue)
            options.dir = argv[++i];
        else {
            std::cerr << "usage: icmil-extract-bench [--embedders a,b] [--device auto] [--batch-size N] "
                         "[--max-patches N] [--stain macenko,reinhard] [--json FILE] [--dir DIR]\n";
            return 2;
        }
    }
    engine::configureThreads(0);
    std::cout << engine::describe(engine::runtimeInfo()) << '\n';

    project::SyntheticDatasetConfig dataset;
    dataset.outputDir = options.dir / "dataset";
    dataset.slides = 4;
    dataset.seed = 404;
    dataset.width = 12000;
    dataset.height = 9600;
    dataset.positiveFraction = 0.5;
    project::SyntheticDataset(dataset).generate(); // reuses an identical earlier run
    const std::vector<project::SlideEntry> all = project::listSlides(dataset.outputDir).slides;
    const fs::path projectDir = options.dir / "project";
    project::TilingConfig tiling;
    const project::SlideTiler tiler(project::ProjectLayout(projectDir), tiling);

    std::vector<Figures> results;
    try {
        for (const std::string &name : options.embedders) {
            engine::EmbedderConfig embedderConfig;
            embedderConfig.name = name;
            std::unique_ptr<engine::Embedder> embedder = engine::makeEmbedder(embedderConfig);
            const torch::Device device = engine::resolveDevice(engine::parseDevice(options.device));
            embedder->to(device);
            embedder->setTraining(false);
            const bool cuda = device.is_cuda();
            std::int64_t wanted = options.maxPatches;
            if (wanted == 0 && name == "resnet50-trunc" && !cuda)
                wanted = 512; // ~15-25 patches/s on 2 cores: keep each measurement under a minute

            std::vector<slide::PatchGrid> grids;
            Figures f;
            f.embedder = name;
            f.device = device.str();
            const std::vector<project::SlideEntry> slides = slidesFor(all, tiler, wanted, grids, f.patches);
            f.readRate = readOnlyRate(slides, grids, options.batchSize, cuda);
            f.computeRate = computeOnlyRate(*embedder, f.patches, grids.front().readSize, options.batchSize, false);

            project::ExtractionConfig config;
            config.projectDir = projectDir;
            config.embedder = embedderConfig;
            config.device = options.device;
            config.batchSize = options.batchSize;
            config.overwrite = true;
            config.tiling = tiling;
            // The whole pipeline; a fresh copy of the embedder for each run.
            auto pipeline = [&](engine::StainMethod method) -> double {
                config.stain.method = method;
                std::unique_ptr<engine::Embedder> copy = embedder->clone();
                project::FeatureExtractor extractor(config, std::move(copy));
                const project::ExtractionReport report = extractor.run(slides);
                if (report.failed() > 0)
                    throw std::runtime_error("extraction failed: " + report.slides.front().message);
                return static_cast<double>(report.patches) / report.seconds;
            };
            if (!options.stains.empty())
                (void)pipeline(engine::StainMethod::None); // warm-up: later runs were up to 20% faster than the first
            f.pipelineRate = pipeline(engine::StainMethod::None);
            for (const std::string &stain : options.stains)
                f.stainRates.emplace_back(stain, pipeline(engine::parseStainMethod(stain)));
            if (!options.stains.empty())
                f.plainAfterRate = pipeline(engine::StainMethod::None);
            // Noise-free parts: the model with and without each map on the same batch, and the
            // slides' estimates alone.
            for (const std::string &stain : options.stains) {
                double plain = 0, mapped = 0;
                for (int round = 0; round < 2; ++round) {
                    plain += computeOnlyRate(*embedder, f.patches, grids.front().readSize, options.batchSize, false);
                    mapped += computeOnlyRate(*embedder, f.patches, grids.front().readSize, options.batchSize, false,
                                              engine::parseStainMethod(stain));
                }
                f.stainComputeRatios.emplace_back(stain, mapped / plain);
            }
            if (!options.stains.empty()) {
                const auto start = Clock::now();
                for (std::size_t i = 0; i < slides.size(); ++i) {
                    const auto source = slide::SlideSource::open(slides[i].path);
                    (void)project::estimateSlideStain(*source, grids[i].readLevel, grids[i].readSize, grids[i].coords,
                                                      embedder->inputSize());
                }
                f.estimateSeconds = seconds(start);
            }
            results.push_back(f);
        }
    } catch (const std::exception &e) {
        std::cerr << e.what() << '\n';
        return 1;
    }

    std::cout << "\nembedder         device  patches   read-only   compute-only   pipeline   pipeline / min  (target >= 0.85)\n";
    std::ostringstream json;
    json << "[";
    for (std::size_t i = 0; i < results.size(); ++i) {
        const Figures &f = results[i];
        std::cout << std::left << std::setw(16) << f.embedder << ' ' << std::setw(7) << f.device << std::right << std::setw(8) << f.patches
                  << std::fixed << std::setprecision(1) << std::setw(10) << f.readRate << "/s" << std::setw(12) << f.computeRate << "/s"
                  << std::setw(9) << f.pipelineRate << "/s" << std::setprecision(2) << std::setw(12) << f.ratio()
                  << (f.ratio() >= 0.85 ? "  met" : "  MISSED") << '\n';
        json << (i ? "," : "") << "{\"embedder\":\"" << f.embedder << "\",\"device\":\"" << f.device << "\",\"patches\":" << f.patches
             << ",\"read_only_per_s\":" << f.readRate << ",\"compute_only_per_s\":" << f.computeRate
             << ",\"pipeline_per_s\":" << f.pipelineRate << ",\"ratio\":" << f.ratio();
        for (const auto &[method, rate] : f.stainRates)
            json << ",\"" << method << "_per_s\":" << rate << ",\"" << method << "_vs_plain\":" << rate / f.plainRate();
        json << "}";
    }
    for (const Figures &f : results) {
        if (f.stainRates.empty())
            continue;
        std::cout << f.embedder << ": plain pipeline " << std::fixed << std::setprecision(1) << f.pipelineRate << "/s before, "
                  << f.plainAfterRate << "/s after";
        for (const auto &[method, rate] : f.stainRates)
            std::cout << "; " << method << ' ' << rate << "/s = " << std::setprecision(2) << rate / f.plainRate() << std::setprecision(1)
                      << " x plain" << (rate / f.plainRate() >= 0.9 ? " (met)" : " (MISSED)");
        std::cout << "  (target >= 0.90)\n";
        std::cout << f.embedder << ": model alone with the map / without:";
        for (const auto &[method, ratio] : f.stainComputeRatios)
            std::cout << ' ' << method << ' ' << std::setprecision(3) << ratio;
        std::cout << "; the slides' stain estimates " << std::setprecision(2) << f.estimateSeconds << " s = " << std::setprecision(1)
                  << 100.0 * f.estimateSeconds * f.plainRate() / static_cast<double>(f.patches) << "% of the plain pipeline's time\n";
    }
    json << "]";
    std::cout << json.str() << '\n';
    if (!options.json.empty())
        std::ofstream(options.json) << json.str() << '\n';
    return 0;
}
