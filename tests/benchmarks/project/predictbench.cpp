// SPDX-License-Identifier: GPL-3.0-or-later
// icmil-predict-bench: one-step prediction with a model bundle (icmil predict --model) against
// the separate steps a user ran before (icmil tile, icmil extract, icmil predict) on the same new
// slides, measured in the same run after an untimed warm-up in the order separate, one-step,
// one-step, separate (each into a fresh folder), so that the page cache and the machine's drift
// favour neither.
// Target: one-step <= 1.05 x the separate steps' total.
//
//   icmil-predict-bench [--slides 8] [--size 12000x9600] [--embedder tiny-cnn] [--device cpu]
//                       [--dir DIR]
//
// The model: a tiny ICMIL loop (iteration 0) on 6 small labelled slides, exported as a bundle.

#include "project/dataset/slidelist.h"
#include "project/dataset/syntheticdataset.h"
#include "project/features/featureextractor.h"
#include "project/features/slidetiler.h"
#include "project/loop/icmilloop.h"
#include "project/model/bundleprediction.h"
#include "project/model/modelexport.h"
#include "project/training/milprediction.h"
#include "slide/io/slidesource.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <string>

namespace fs = std::filesystem;
using namespace icmil;
using namespace icmil::project;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Timing {
    double tile = 0, extract = 0, predict = 0;
    std::int64_t patches = 0;
    std::size_t slides = 0;
    double total() const { return tile + extract + predict; }
};

Timing separateSteps(const fs::path &project, const std::vector<SlideEntry> &slides, const ModelBundleInfo &info, const fs::path &bundleDir,
                     const std::string &device)
{
    Timing t;
    fs::remove_all(project);
    const SlideTiler tiler(ProjectLayout(project), info.preprocessing.tiling);
    auto start = Clock::now();
    for (const SlideEntry &slide : slides)
        tiler.tile(*slide::SlideSource::open(slide.path), slide.slideId);
    t.tile = since(start);

    ExtractionConfig extraction = info.preprocessing;
    extraction.projectDir = project;
    extraction.embedder.name = info.embedderName;
    extraction.embedder.weights = bundleDir / "embedder.pth";
    extraction.encoderName = info.encoder;
    extraction.device = device;
    start = Clock::now();
    const ExtractionReport report = FeatureExtractor(extraction).run(slides);
    t.extract = since(start);
    t.patches = report.patches;

    MilPredictionConfig predict;
    predict.projectRoot = project;
    predict.checkpoint = bundleDir / "classifier.pth";
    predict.encoder = info.encoder;
    predict.run = "model";
    start = Clock::now();
    t.slides = MilPredictionJob(predict).run().table.rows.size();
    t.predict = since(start);
    return t;
}

Timing oneStep(const fs::path &out, const std::vector<SlideEntry> &slides, const fs::path &bundle, const std::string &device)
{
    fs::remove_all(out);
    BundlePredictionConfig config;
    config.bundle = bundle;
    config.slides = slides;
    config.outDir = out;
    config.device = device;
    const auto start = Clock::now();
    const BundlePredictionResult result = BundlePredictionJob(config).run();
    Timing t;
    t.extract = since(start); // all of it
    t.patches = result.patches;
    t.slides = result.table.rows.size();
    return t;
}

} // namespace

int main(int argc, char **argv)
{
    int count = 8;
    std::string size = "12000x9600";
    std::string embedder = "tiny-cnn";
    std::string device = "cpu";
    fs::path dir = fs::temp_directory_path() / "icmil-predict-bench";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i], value = argv[i + 1];
        if (key == "--slides")
            count = std::stoi(value);
        else if (key == "--size")
            size = value;
        else if (key == "--embedder")
            embedder = value;
        else if (key == "--device")
            device = value;
        else if (key == "--dir")
            dir = value;
        else {
            std::cerr << "unknown option " << key << '\n';
            return 2;
        }
    }
    const auto x = size.find('x');
    const int width = std::stoi(size.substr(0, x)), height = std::stoi(size.substr(x + 1));

    // The model.
    const fs::path train = dir / "train";
    const fs::path bundle = dir / "model.icmil";
    if (!fs::exists(bundle)) {
        SyntheticDatasetConfig synth;
        synth.outputDir = train / "dataset";
        synth.slides = 6;
        synth.seed = 5;
        synth.width = 4096;
        synth.height = 3072;
        SyntheticDataset(synth).generate();
        IcmilLoopConfig loop;
        loop.projectRoot = train / "project";
        loop.slides = synth.outputDir;
        loop.iterations = 0;
        loop.device = device;
        loop.embedder.name = embedder;
        loop.extraction.tiling.tissue = slide::TissueDetectionParams::preset("bwh_biopsy");
        loop.extraction.tiling.grid.targetMagnification.reset();
        loop.extraction.tiling.grid.level = 0;
        loop.trainer.epochs = 5;
        loop.calibrationPatches = 200;
        loop.split.valFraction = 0.34;
        loop.split.testFraction = 0.0;
        IcmilLoop(loop).run();
        ModelExportConfig exportConfig;
        exportConfig.projectRoot = loop.projectRoot;
        exportConfig.loop = loop.name;
        exportConfig.slides = synth.outputDir;
        exportConfig.out = bundle;
        exportModel(exportConfig);
    }
    // The new slides.
    const fs::path slidesDir = dir / ("new-" + size + "-" + std::to_string(count));
    if (!fs::exists(slidesDir / "labels.csv")) {
        SyntheticDatasetConfig synth;
        synth.outputDir = slidesDir;
        synth.slides = count;
        synth.seed = 11;
        synth.width = width;
        synth.height = height;
        SyntheticDataset(synth).generate();
    }
    const std::vector<SlideEntry> slides = listSlides(slidesDir).slides;
    // The separate steps read the bundle's members as the files a user would have.
    const LoadedModelBundle loaded = readModelBundle(bundle);
    const fs::path bundleDir = dir / "bundle-files";
    fs::create_directories(bundleDir);
    loaded.embedder->save(bundleDir / "embedder.pth");
    engine::writeMilCheckpoint(bundleDir / "classifier.pth", loaded.classifier);

    std::cout << "icmil-predict-bench: " << slides.size() << " slides of " << size << ", " << loaded.info.embedderName << " + "
              << engine::milModelTypeName(loaded.info.modelType) << " on " << device << "\n";
    oneStep(dir / "warm-up", slides, bundle, device); // untimed: first-run costs (thread pools, page cache) fall on neither
    const Timing a1 = separateSteps(dir / "separate", slides, loaded.info, bundleDir, device);
    const Timing b1 = oneStep(dir / "one-step", slides, bundle, device);
    const Timing b2 = oneStep(dir / "one-step", slides, bundle, device);
    const Timing a2 = separateSteps(dir / "separate", slides, loaded.info, bundleDir, device);
    auto line = [](const std::string &name, const Timing &t) {
        std::cout << std::left << std::setw(22) << name << std::right << std::fixed << std::setprecision(2) << std::setw(8) << t.total()
                  << " s  " << std::setw(7) << 60.0 * static_cast<double>(t.slides) / t.total() << " slides/min  " << std::setw(8)
                  << static_cast<double>(t.patches) / t.total() << " patches/s";
        if (t.tile > 0)
            std::cout << "  (tile " << t.tile << " + extract " << t.extract << " + predict " << t.predict << ")";
        std::cout << '\n';
    };
    line("separate steps, 1st", a1);
    line("one step, 1st", b1);
    line("one step, 2nd", b2);
    line("separate steps, 2nd", a2);
    const double separate = (a1.total() + a2.total()) / 2.0, one = (b1.total() + b2.total()) / 2.0;
    std::cout << "one step / separate steps: " << std::setprecision(3) << one / separate << " (target <= 1.05; " << a1.patches
              << " patches)\n";
    return 0;
}
