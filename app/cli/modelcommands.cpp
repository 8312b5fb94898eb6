// SPDX-License-Identifier: GPL-3.0-or-later
// `icmil export-model` and `icmil predict --model`: a trained model as one file, applied to new
// slides in one step.
#include "cliformat.h"
#include "commands.h"
#include "distributedcli.h"
#include "interruptguard.h"
#include "progressbar.h"

#include "common/listtext.h"
#include "project/model/bundleprediction.h"
#include "project/model/modelexport.h"
#include "project/projecterror.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>

namespace icmil::cli {

namespace {

namespace fs = std::filesystem;

std::string preprocessingText(const project::ExtractionConfig &p)
{
    const slide::PatchGridParams &grid = p.tiling.grid;
    std::string text = std::to_string(grid.patchSize) + " px patches at "
        + (grid.targetMagnification ? fixed(*grid.targetMagnification, 1) + "x" : "level " + std::to_string(grid.level))
        + ", tissue preset " + p.tiling.tissue.presetName;
    if (p.stain.active())
        text += ", stain normalisation " + engine::stainMethodName(p.stain.method);
    return text;
}

std::string joinList(const std::vector<std::string> &items)
{
    std::string text;
    for (const std::string &item : items)
        text += (text.empty() ? "" : ", ") + item;
    return text;
}

} // namespace

int runExportModel(const ExportModelOptions &options)
{
    project::ModelExportConfig config;
    config.projectRoot = options.projectDir;
    config.run = options.run;
    config.loop = options.loop;
    if (options.iteration >= 0)
        config.iteration = options.iteration;
    config.embedder.name = options.embedder;
    config.embedder.weights = options.weights;
    config.embedder.seed = options.seed;
    config.slides = options.slides;
    config.out = options.out;
    const project::ModelExportReport report = project::exportModel(config);
    const project::ModelBundleInfo &info = report.info;
    std::cout << "Model: " << report.source << '\n'
              << "  embedder   " << info.embedderName << (info.torchScript ? " (TorchScript)" : "") << ", " << info.featureDim
              << " features from " << info.inputSize << " px\n"
              << "  classifier " << engine::milModelTypeName(info.modelType) << ", classes " << joinList(info.classNames) << '\n'
              << "  threshold  "
              << (info.threshold ? fixed(*info.threshold, 4) + " on p(" + info.classNames.at(1) + "), chosen on validation" : "none")
              << '\n'
              << "  patches    " << preprocessingText(info.preprocessing) << '\n';
    if (report.checkedSlide.empty())
        std::cout << "warning: the embedder was not checked against the stored features: " << report.notChecked << '\n';
    else
        std::cout << "Checked: " << report.checkedPatches << " patches of " << report.checkedSlide
                  << " embedded again match the stored features (largest relative difference " << std::scientific << std::setprecision(1)
                  << report.maxFeatureDifference << std::defaultfloat << ")\n";
    std::cout << "Wrote " << config.out.string() << " (" << fixed(static_cast<double>(fs::file_size(config.out)) / (1 << 20), 1)
              << " MiB)\n";
    return 0;
}

int runPredictModel(const PredictOptions &options)
{
    if (options.out.empty())
        throw project::ProjectError("icmil predict --model needs --out DIR for its results");
    if (options.slides.empty())
        throw project::ProjectError("icmil predict --model needs --slides: a slide file, a folder of slides or a list file");
    // The bundle first: a wrong one fails before anything is listed or made.
    const project::ModelBundleInfo info = project::readModelBundleInfo(options.model);
    // torch.distributed: each rank extracts its share of the slides, rank 0 predicts and writes.
    std::string device = options.device;
    int readers = options.readers;
    const DistributedRun dist = joinDistributed(options.dist, device, readers);
    std::vector<std::string> problems;
    project::BundlePredictionConfig config;
    config.bundle = options.model;
    config.slides = project::slidesToPredict(options.slides, problems);
    for (const std::string &problem : problems)
        std::cerr << "warning: " << problem << '\n';
    if (config.slides.empty())
        throw project::ProjectError("No slides found in '" + options.slides + "'");
    const fs::path location = options.slides;
    config.slidesLocation = fs::is_directory(location) ? location : config.slides.front().path.parent_path();
    config.outDir = options.out;
    config.labelsCsv = options.labels;
    config.heatmaps = options.heatmaps;
    config.heatmapDownsample = options.heatmapDownsample;
    config.device = device;
    config.batchSize = options.batchSize;
    config.readerThreads = readers;
    config.halfPrecision = options.half;

    std::cout << "Model " << info.name << ": " << info.embedderName << " + " << engine::milModelTypeName(info.modelType) << " ("
              << joinList(info.classNames) << "); " << preprocessingText(info.preprocessing) << "; " << config.slides.size() << " slides\n";
    ProgressBar bar;
    project::BundlePredictionEvents events;
    events.extraction = [&](const project::ExtractionProgress &p) {
        const double fraction = p.patchesTotal > 0 ? static_cast<double>(p.patchesDone) / p.patchesTotal : 0.0;
        std::string detail = p.slideId + " " + p.phase;
        if (p.patchesPerSecond > 0)
            detail += " " + fixed(p.patchesPerSecond, 0) + " patches/s";
        if (p.etaSeconds >= 0)
            detail += " ETA " + fixed(p.etaSeconds, 0) + " s";
        bar.update(p.slideIndex, p.slideCount, fraction, detail);
    };
    events.message = [&](const std::string &text) {
        bar.finish();
        std::cout << text << std::endl;
    };
    project::BundlePredictionJob job(config, dist.group.get());
    project::BundlePredictionResult result;
    {
        const InterruptGuard guard([&job] { job.cancel(); });
        result = job.run(events);
    }
    bar.finish();
    if (result.cancelled) {
        std::cout << "Cancelled; the features made so far are kept, run the same command again to go on.\n";
        return 130;
    }
    if (!result.predicted) {
        std::cout << "Rank " << dist.rank() << ": features of its share made; rank 0 predicts and prints the table\n";
        return result.failed.empty() ? 0 : 1;
    }
    printPredictionTable(result.table);
    for (const std::string &slide : result.withoutPatches)
        std::cerr << "warning: " << slide << " has no tissue patches: nothing to predict\n";
    for (const project::SkippedSlide &slide : result.failed)
        std::cerr << "error: " << slide.slideId << ": " << slide.reason << '\n';
    const double seconds = result.extractSeconds + result.predictSeconds;
    const std::size_t predicted = result.table.rows.size();
    std::cout << "Predicted " << predicted << " of " << config.slides.size() << " slides (features made for " << result.extracted
              << ", reused for " << result.reused << ") on " << result.device << " in " << fixed(seconds, 1)
              << " s: " << fixed(seconds > 0 ? 60.0 * static_cast<double>(predicted) / seconds : 0.0, 2) << " slides/min, "
              << fixed(seconds > 0 ? static_cast<double>(result.patches) / seconds : 0.0, 1) << " patches/s\n"
              << "Predictions: " << result.predictionsCsv.string() << "; attention: " << result.attentionDir.string() << '\n';
    if (!result.heatmaps.empty())
        std::cout << "Heatmaps: " << result.heatmaps.size() << " in " << (config.outDir / "heatmaps").string() << '\n';
    if (!result.failed.empty())
        std::cerr << slidesFailedLine(static_cast<std::size_t>(result.failed.size()));
    return result.failed.empty() ? 0 : 1;
}

} // namespace icmil::cli
