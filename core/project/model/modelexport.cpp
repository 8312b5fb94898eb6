// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/model/modelexport.h"

#include "engine/stain/stainnormaliser.h"
#include "engine/torchfile/torchfilewriter.h"
#include "project/dataset/labelstable.h"
#include "project/dataset/slidelist.h"
#include "project/features/featurestore.h"
#include "project/features/slidestain.h"
#include "project/features/stainsettings.h"
#include "project/loop/icmilloop.h"
#include "project/loop/icmilloopstate.h"
#include "project/projectcatalog.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"
#include "project/training/predictiontable.h"
#include "slide/io/slidesource.h"

#include <nlohmann/json.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <map>

namespace icmil::project {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Where the model comes from, before anything is loaded.
struct ModelSource {
    std::string description;
    fs::path runDir;
    std::string encoder;
    engine::EmbedderConfig embedder;
    ExtractionConfig preprocessing;
    json source; // provenance.source
};

ModelSource fromLoop(const ProjectLayout &layout, const std::string &loop, std::optional<int> wanted, const std::string &requestedRun)
{
    const fs::path loopDir = layout.root() / "icmil" / loop;
    const fs::path stateFile = loopDir / "state.json";
    if (!fs::exists(stateFile))
        throw ProjectError("Project '" + layout.root().string() + "' has no ICMIL loop '" + loop + "' (no " + stateFile.string() + ")");
    const LoopState state = readLoopState(stateFile);
    IcmilLoopConfig base;
    base.projectRoot = layout.root();
    const IcmilLoopConfig config = loopConfigFromSettings(state.settings, base);
    std::vector<int> trained;
    for (const IterationSummary &it : state.iterations)
        if (it.completed("train"))
            trained.push_back(it.iteration);
    if (trained.empty())
        throw ProjectError("ICMIL loop '" + loop + "' has no trained iteration yet");
    const int iteration = wanted.value_or(trained.back());
    const auto found = std::find_if(state.iterations.begin(), state.iterations.end(),
                                    [&](const IterationSummary &it) { return it.iteration == iteration && it.completed("train"); });
    if (found == state.iterations.end())
        throw ProjectError("ICMIL loop '" + loop + "' has no trained iteration " + std::to_string(iteration) + " (trained: 0.."
                           + std::to_string(trained.back()) + ")");
    ModelSource source;
    source.description = "loop " + loop + ", iteration " + std::to_string(iteration)
        + (wanted ? std::string() : std::string(" (its last trained)")) + (requestedRun.empty() ? "" : ", run " + requestedRun);
    // A project may have moved since: the run is named by its folder.
    source.runDir = layout.runDir(found->runDir.filename().string());
    source.encoder = found->encoder;
    source.embedder = loopIterationEmbedder(config, loopDir, *found);
    source.preprocessing = config.extraction;
    source.source = {{"loop", loop}, {"iteration", iteration}, {"run", source.runDir.filename().string()}};
    if (const auto &val = found->val; val && val->auc)
        source.source["val_auc"] = *val->auc;
    return source;
}

// The loop whose iteration trained run `run`, if any: {loop, iteration}.
std::optional<std::pair<std::string, int>> loopOfRun(const ProjectLayout &layout, const std::string &run)
{
    std::error_code error;
    for (const auto &entry : fs::directory_iterator(layout.root() / "icmil", error)) {
        const fs::path stateFile = entry.path() / "state.json";
        if (!entry.is_directory() || !fs::exists(stateFile))
            continue;
        try {
            const LoopState state = readLoopState(stateFile);
            for (const IterationSummary &it : state.iterations)
                if (it.completed("train") && it.runDir.filename() == run)
                    return std::make_pair(entry.path().filename().string(), it.iteration);
        } catch (const ProjectError &) {
            continue; // another loop's unreadable state says nothing about this run
        }
    }
    return std::nullopt;
}

// The tiling and stain that made `attributes`' patches, as extraction would be configured.
ExtractionConfig preprocessingOf(const PatchAttributes &attributes, const fs::path &file)
{
    if (attributes.tissueSettings.empty() || !attributes.patchSize)
        throw ProjectError("The features in '" + file.string()
                           + "' do not record how their patches were cut (made by another tool?): a model bundle could not reproduce them");
    const json settings = {{"tissue", json::parse(attributes.tissueSettings)}};
    ExtractionConfig config = loopConfigFromSettings(settings.dump(), IcmilLoopConfig{}).extraction;
    slide::PatchGridParams &grid = config.tiling.grid;
    grid.patchSize = static_cast<int>(*attributes.patchSize);
    if (attributes.targetMagnification) {
        grid.targetMagnification = *attributes.targetMagnification;
    } else {
        grid.targetMagnification.reset();
        grid.level = static_cast<int>(attributes.patchLevel.value_or(0));
    }
    grid.overlap = static_cast<double>(attributes.overlap.value_or(0)) / static_cast<double>(grid.patchSize);
    config.stain = stainNormalisationFromKey(attributes.stainSettings);
    return config;
}

std::vector<fs::path> featureFiles(const ProjectLayout &layout, const std::string &encoder)
{
    std::vector<fs::path> files;
    std::error_code error;
    for (const auto &entry : fs::directory_iterator(layout.featuresDir(encoder), error))
        if (entry.is_regular_file() && entry.path().extension() == ".h5")
            files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    return files;
}

ModelSource fromRun(const ProjectLayout &layout, const std::string &run, const engine::EmbedderConfig &given)
{
    const fs::path runDir = layout.runDir(run);
    ModelSource source;
    source.runDir = runDir;
    source.description = "run " + run;
    source.source = {{"run", run}};
    const fs::path predictions = runDir / "predictions.json";
    if (fs::exists(predictions))
        source.encoder = readPredictionsJson(predictions).encoder;
    if (source.encoder.empty() && fs::exists(runDir / "checkpoint.pth")) {
        const engine::MilCheckpoint checkpoint = engine::readMilCheckpoint(runDir / "checkpoint.pth");
        if (!checkpoint.trainingConfigJson.empty())
            source.encoder = json::parse(checkpoint.trainingConfigJson).value("encoder", std::string());
    }
    if (source.encoder.empty())
        throw ProjectError("Run '" + run + "' does not say which features it was trained on");
    const std::vector<fs::path> files = featureFiles(layout, source.encoder);
    if (files.empty())
        throw ProjectError("Project '" + layout.root().string() + "' has no features of encoder '" + source.encoder + "', which run '" + run
                           + "' was trained on");
    const FeatureFileSummary summary = describeFeatureFile(files.front());
    source.preprocessing = preprocessingOf(summary.attributes, files.front());
    source.embedder = given;
    if (source.embedder.name.empty()) {
        if (!engine::isBuiltInEmbedder(summary.attributes.encoder))
            throw ProjectError("Run '" + run + "' was trained on features of '" + summary.attributes.encoder
                               + "', which is not a built-in embedder: name its TorchScript file with --embedder");
        source.embedder.name = summary.attributes.encoder;
    }
    return source;
}

// Embeds up to 8 patches of the first slide with features again and compares.
void checkEmbedder(engine::Embedder &embedder, const ModelSource &source, const ProjectLayout &layout, const fs::path &slides,
                   ModelExportReport &report)
{
    fs::path slidesLocation = slides;
    if (slidesLocation.empty())
        slidesLocation = readProjectSettings(layout.root()).slides;
    std::map<std::string, fs::path> slideFiles;
    for (const SlideEntry &entry : listSlides(slidesLocation).slides)
        slideFiles[entry.slideId] = entry.path;
    for (const fs::path &file : featureFiles(layout, source.encoder)) {
        const auto slideFile = slideFiles.find(file.stem().string());
        if (slideFile == slideFiles.end())
            continue;
        SlideFeatures features = readFeatureFile(file);
        if (features.count < 1)
            continue;
        const std::unique_ptr<slide::SlideSource> slide = slide::SlideSource::open(slideFile->second);
        const slide::PatchGrid grid = slide::PatchGrid::build(*slide, nullptr, source.preprocessing.tiling.grid);
        const std::int64_t samples = std::min<std::int64_t>(features.count, 8);
        std::vector<slide::PatchCoord> coords;
        std::vector<std::int64_t> rows;
        for (std::int64_t i = 0; i < samples; ++i) {
            const std::int64_t row = i * features.count / samples;
            rows.push_back(row);
            coords.push_back({features.coords[static_cast<std::size_t>(row)][0], features.coords[static_cast<std::size_t>(row)][1]});
        }
        torch::Tensor input = stainSamplePatches(*slide, grid.readLevel, grid.readSize, coords, embedder.inputSize());
        const engine::StainNormaliser stain(source.preprocessing.stain);
        if (stain.active()) {
            if (features.attributes.stainProfile.empty())
                throw ProjectError("The features in '" + file.string()
                                   + "' do not record the slide's stain, which their normalisation needs");
            input = stain.apply(input, stain.slideTransform(stainProfileFromJson(features.attributes.stainProfile)));
        }
        torch::NoGradGuard noGrad;
        const torch::Tensor fresh = embedder.forward(input.to(embedder.device())).to(torch::kCPU, torch::kFloat32);
        const torch::Tensor stored = torch::from_blob(features.features.data(), {features.count, features.dim}, torch::kFloat)
                                         .index_select(0, torch::tensor(rows, torch::kLong));
        if (fresh.sizes() != stored.sizes())
            throw ProjectError("The embedder " + source.embedder.name + " gives " + std::to_string(fresh.size(1))
                               + " features per patch, but run's features in '" + file.string() + "' have " + std::to_string(features.dim));
        const double scale = std::max(1.0, stored.abs().max().item<double>());
        report.maxFeatureDifference = (fresh - stored).abs().max().item<double>() / scale;
        report.checkedSlide = file.stem().string();
        report.checkedPatches = static_cast<int>(samples);
        if (!(report.maxFeatureDifference <= kFeatureCheckTolerance))
            throw ProjectError("The embedder " + source.embedder.name + " does not reproduce the features the classifier was trained on ("
                               + report.checkedSlide + ": relative difference " + std::to_string(report.maxFeatureDifference)
                               + "): name the embedder, its --weights or its --embedder-seed that made features/" + source.encoder);
        return;
    }
    report.notChecked = "no slide of the project's features was found in '" + slidesLocation.string() + "'";
}

json datasetSummary(const fs::path &runDir)
{
    const fs::path splits = runDir / "splits.csv";
    if (!fs::exists(splits))
        return json::object();
    const LabelsTable table = LabelsTable::read(splits);
    json counts = json::object();
    for (const LabelledSlide &row : table.rows()) {
        json &split = counts[row.split.empty() ? "all" : row.split];
        split[row.label] = (split.contains(row.label) ? split.at(row.label).get<int>() : 0) + 1;
    }
    return {{"slides", table.rows().size()}, {"per_split", counts}};
}

std::string utcNow()
{
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

} // namespace

ModelExportReport exportModel(const ModelExportConfig &config)
{
    if (config.run.empty() == config.loop.empty())
        throw ProjectError("Name the model to export: a run (--run) or an ICMIL loop (--loop), not both");
    if (config.out.empty())
        throw ProjectError("Name the bundle to write (--out model.icmil)");
    const ProjectLayout layout(config.projectRoot);
    ModelSource source;
    if (!config.loop.empty()) {
        source = fromLoop(layout, config.loop, config.iteration, {});
    } else if (const auto loop = loopOfRun(layout, config.run)) {
        source = fromLoop(layout, loop->first, loop->second, config.run);
    } else {
        if (config.iteration)
            throw ProjectError("--iteration belongs to an ICMIL loop (--loop)");
        source = fromRun(layout, config.run, config.embedder);
    }
    const fs::path checkpointFile = source.runDir / "checkpoint.pth";
    if (!fs::exists(checkpointFile))
        throw ProjectError("Project '" + config.projectRoot.string() + "' has no trained classifier for " + source.description + " (no "
                           + checkpointFile.string() + ")");
    engine::MilCheckpoint checkpoint = engine::readMilCheckpoint(checkpointFile);
    checkpoint.optimizer = {};
    checkpoint.optimizerLearningRates.clear();
    std::unique_ptr<engine::Embedder> embedder = engine::makeEmbedder(source.embedder);
    embedder->setTraining(false);
    if (embedder->featureDim() != checkpoint.model.inputDim)
        throw ProjectError("The embedder " + source.embedder.name + " gives " + std::to_string(embedder->featureDim())
                           + " features per patch, but the classifier of " + source.description + " takes "
                           + std::to_string(checkpoint.model.inputDim));

    ModelExportReport report;
    report.source = source.description;
    checkEmbedder(*embedder, source, layout, config.slides, report);

    ModelBundleInfo &info = report.info;
    info.name = source.description;
    info.encoder = source.encoder;
    info.embedderName = embedder->name();
    info.torchScript = !engine::isBuiltInEmbedder(source.embedder.name);
    info.featureDim = embedder->featureDim();
    info.inputSize = embedder->inputSize();
    info.modelType = checkpoint.model.type;
    info.classNames = checkpoint.classNames;
    if (info.classNames.empty())
        for (int c = 0; c < checkpoint.model.classes; ++c)
            info.classNames.push_back(std::to_string(c));
    info.threshold = checkpoint.threshold;
    info.preprocessing = source.preprocessing;
    json provenance = {{"source", source.source},
                       {"project", fs::absolute(config.projectRoot).lexically_normal().string()},
                       {"dataset", datasetSummary(source.runDir)},
                       {"metrics", checkpoint.metricsJson.empty() ? json::object() : json::parse(checkpoint.metricsJson)},
                       {"created", utcNow()},
                       {"icmil_studio_version", ICMIL_VERSION},
                       {"libtorch_version", TORCH_VERSION}};
    if (!report.checkedSlide.empty())
        provenance["feature_check"] = {
            {"slide", report.checkedSlide}, {"patches", report.checkedPatches}, {"max_relative_difference", report.maxFeatureDifference}};
    info.provenanceJson = provenance.dump();
    writeModelBundle(config.out, *embedder, checkpoint, info);
    return report;
}

} // namespace icmil::project
