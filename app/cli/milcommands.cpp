// SPDX-License-Identifier: GPL-3.0-or-later
// `icmil train`, `icmil predict`, `icmil export`: bag classifiers from the command line.
#include "commands.h"
#include "cliformat.h"
#include "interruptguard.h"
#include "progressbar.h"

#include "common/listtext.h"
#include "engine/engineerror.h"
#include "engine/runtime/runtime.h"
#include "project/annotations/annotationimport.h"
#include "project/annotations/qupathoffset.h"
#include "project/export/attentionregions.h"
#include "project/training/attentionstore.h"
#include "project/training/milprediction.h"
#include "project/training/miltraining.h"
#include "project/training/predictiontable.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <array>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

namespace icmil::cli {

namespace {

namespace fs = std::filesystem;

fs::path defaultLabels(const fs::path &projectDir, const fs::path &given, bool required)
{
    if (!given.empty())
        return given;
    const fs::path candidate = projectDir / "labels.csv";
    if (fs::exists(candidate))
        return candidate;
    if (required)
        throw project::ProjectError(
            "No labels: pass --labels CSV (case_id,slide_id,label[,split]) or put labels.csv in the project folder");
    return {};
}

void printSplitRow(const std::string &name, const project::SplitMetrics &split)
{
    if (!split.present) {
        std::cout << "  " << std::left << std::setw(6) << name << std::right << std::setw(7) << 0 << "   (no slides)\n";
        return;
    }
    const auto &m = split.metrics;
    std::cout << "  " << std::left << std::setw(6) << name << std::right << std::setw(7) << split.slides << std::setw(8) << fixed(m.auc, 4)
              << std::setw(8) << fixed(m.accuracy, 3) << std::setw(8) << fixed(m.f1, 3);
    if (m.hasThreshold)
        std::cout << std::setw(9) << fixed(m.thresholdAccuracy, 3) << std::setw(8) << fixed(m.thresholdF1, 3) << std::setw(8)
                  << fixed(m.sensitivity, 3) << std::setw(8) << fixed(m.specificity, 3);
    std::cout << std::setw(9) << fixed(split.loss, 4) << '\n';
}

nlohmann::json settingsJson(const TrainOptions &o, const std::string &encoder, const fs::path &labels)
{
    return {{"project", o.projectDir.string()},
            {"labels", labels.string()},
            {"encoder", encoder},
            {"model", o.model},
            {"run", o.run},
            {"epochs", o.epochs},
            {"lr", o.lr},
            {"weight_decay", o.weightDecay},
            {"grad_clipping", o.clip},
            {"lr_decay_ratio", o.lrDecay},
            {"milestones", o.milestones},
            {"no_schedule", o.noSchedule},
            {"seed", o.seed},
            {"device", o.device},
            {"patience", o.patience},
            {"val_fraction", o.valFraction},
            {"test_fraction", o.testFraction},
            {"folds", o.folds},
            {"fold", o.fold},
            {"init", o.init.string()},
            {"pseudo_bags", o.pseudoBags},
            {"distill", o.distill},
            {"embed_dim", o.embedDim},
            {"attention_dim", o.attentionDim},
            {"dropout", o.dropout}};
}

} // namespace

project::MilTrainingConfig milTrainingConfig(const TrainOptions &options, const fs::path &labels, const std::string &encoder)
{
    TrainOptions o = options;
    const engine::MilModelType type = engine::parseMilModelType(o.model);
    if (o.run.empty())
        o.run = engine::milModelTypeName(type);
    project::MilTrainingConfig config;
    config.data.projectRoot = o.projectDir;
    config.data.labelsCsv = labels;
    config.data.encoder = encoder;
    config.data.classNames = splitList(o.classes);
    config.data.split.valFraction = o.valFraction;
    config.data.split.testFraction = o.testFraction;
    config.data.split.seed = o.seed;
    config.data.split.folds = o.folds;
    config.data.split.fold = o.fold;
    config.data.split.useCsvSplit = !o.ignoreCsvSplit;
    config.data.leaveOutWithoutPatches = !o.strict;
    config.run = o.run;
    config.model.type = type;
    config.model.embedDim = o.embedDim;
    config.model.attentionDim = o.attentionDim;
    config.model.dropout = o.dropout;
    config.model.pseudoBags = o.pseudoBags;
    config.model.distillation = engine::parseDtfdDistillation(o.distill);
    config.model.seed = o.seed;
    config.trainer.epochs = o.epochs;
    config.trainer.learningRate = o.lr;
    config.trainer.weightDecay = o.weightDecay;
    config.trainer.gradientClip = o.clip;
    config.trainer.lrDecay = o.lrDecay;
    for (const std::string &m : splitList(o.milestones)) {
        int epoch = 0;
        const auto [end, error] = std::from_chars(m.data(), m.data() + m.size(), epoch);
        if (error != std::errc() || end != m.data() + m.size() || epoch < 1)
            throw project::ProjectError("Bad --milestones '" + o.milestones + "': expected epochs such as 100,150");
        config.trainer.lrMilestones.push_back(epoch);
    }
    config.trainer.noSchedule = o.noSchedule;
    config.trainer.seed = o.seed;
    config.trainer.earlyStoppingPatience = o.patience;
    config.trainer.device = engine::resolveDevice(engine::parseDevice(o.device)).str();
    config.initCheckpoint = o.init;
    if (!o.initType.empty())
        config.initType = engine::parseMilModelType(o.initType);
    config.overwrite = o.overwrite;
    config.settingsJson = settingsJson(o, encoder, labels).dump();
    return config;
}

int runTrain(const TrainOptions &options)
{
    TrainOptions o = options;
    const fs::path labels = defaultLabels(o.projectDir, o.labels, true);
    const std::string encoder = project::chooseEncoder(o.projectDir, o.encoder);
    const engine::MilModelType type = engine::parseMilModelType(o.model);
    if (o.run.empty())
        o.run = engine::milModelTypeName(type);

    project::MilTrainingConfig config = milTrainingConfig(o, labels, encoder);

    std::cout << "Training " << engine::milModelTypeName(type) << " on '" << encoder << "' features of " << o.projectDir.string() << " ("
              << config.trainer.device << ", seed " << o.seed << ")\n";
    ProgressBar bar;
    project::MilTrainingEvents events;
    events.progress = [&](const std::string &phase, int done, int total) { bar.update(done - 1, total, 1.0, phase); };
    events.epochFinished = [&](const engine::EpochReport &r) {
        bar.finish();
        std::cout << "epoch " << std::setw(4) << r.epoch + 1 << "/" << r.epochs << "  loss " << fixed(r.trainLoss, 4);
        if (type == engine::MilModelType::Dtfd)
            std::cout << " (tier 1 " << fixed(r.tier1Loss, 4) << ")";
        if (r.hasValidation)
            std::cout << "  val loss " << fixed(r.valLoss, 4) << " AUC " << fixed(r.val.auc, 4) << " acc " << fixed(r.val.accuracy, 3)
                      << " F1 " << fixed(r.val.f1, 3);
        std::cout << "  " << fixed(r.seconds, 1) << " s" << (r.best ? "  *best" : "") << std::endl;
    };
    project::MilTrainingJob job(config);
    project::MilRunSummary summary;
    {
        const InterruptGuard guard([&job] { job.cancel(); });
        summary = job.run(events);
    }
    bar.finish();

    std::cout << "Split: " << summary.splitDescription << '\n';
    if (!summary.withoutPatches.empty())
        std::cerr << "warning: left out " << summary.withoutPatches.size()
                  << " slide(s) whose features have no patches: " << listSome(summary.withoutPatches, 10)
                  << " (--strict to fail instead)\n";
    if (summary.bestEpoch < 0) {
        std::cout << "Cancelled before the first epoch finished; nothing was saved.\n";
        return 130;
    }
    std::cout << (summary.cancelled          ? "Cancelled"
                      : summary.stoppedEarly ? "Stopped early"
                                             : "Finished")
              << " after " << summary.epochsRun << " epochs in " << fixed(summary.seconds, 1) << " s; best epoch " << summary.bestEpoch + 1
              << " (by validation AUC)\n";
    std::cout << "  split   slides     AUC     acc      F1";
    if (summary.threshold)
        std::cout << "  acc@thr  F1@thr    sens    spec";
    std::cout << "     loss\n";
    printSplitRow("train", summary.train);
    printSplitRow("val", summary.val);
    printSplitRow("test", summary.test);
    if (summary.threshold)
        std::cout << "Operating threshold " << fixed(*summary.threshold, 4) << " on p(" << summary.classNames.at(1)
                  << "), chosen on the validation split\n";
    std::cout << "Checkpoint: " << summary.checkpoint.string() << '\n';
    if (!summary.cancelled)
        std::cout << "Predictions: " << (summary.runDir / "predictions.csv").string()
                  << "; attention: " << project::ProjectLayout(o.projectDir).attentionDir(encoder, o.run).string() << '\n';
    return summary.cancelled ? 130 : 0;
}

void printPredictionTable(const project::PredictionTable &table)
{
    std::cout << std::left << std::setw(20) << "slide_id" << std::setw(12) << "label" << std::setw(12) << "predicted";
    for (const std::string &name : table.classNames)
        std::cout << std::setw(10) << ("p(" + name + ")");
    std::cout << std::right << std::setw(9) << "patches" << '\n';
    std::vector<int> labels;
    std::vector<double> probabilities;
    for (const auto &row : table.rows) {
        std::cout << std::left << std::setw(20) << row.slideId << std::setw(12) << (row.label.empty() ? "-" : row.label) << std::setw(12)
                  << table.classNames.at(static_cast<std::size_t>(row.predicted));
        for (double p : row.probabilities)
            std::cout << std::setw(10) << fixed(p, 4);
        std::cout << std::right << std::setw(9) << row.patches << '\n';
        if (row.labelIndex >= 0) {
            labels.push_back(row.labelIndex);
            probabilities.insert(probabilities.end(), row.probabilities.begin(), row.probabilities.end());
        }
    }
    if (!labels.empty()) {
        const engine::ClassificationMetrics m
            = engine::classificationMetrics(labels, probabilities, static_cast<int>(table.classNames.size()), table.threshold);
        std::cout << "Labelled slides: " << labels.size() << "  AUC " << fixed(m.auc, 4) << "  accuracy " << fixed(m.accuracy, 3) << "  F1 "
                  << fixed(m.f1, 3);
        if (m.hasThreshold)
            std::cout << "  at threshold " << fixed(m.threshold, 4) << ": accuracy " << fixed(m.thresholdAccuracy, 3) << " F1 "
                      << fixed(m.thresholdF1, 3);
        std::cout << '\n';
    }
}

int runPredict(const PredictOptions &options)
{
    if (!options.model.empty())
        return runPredictModel(options);
    if (options.projectDir.empty() || options.checkpoint.empty())
        throw project::ProjectError("icmil predict needs --project and --checkpoint, or --model with --slides and --out");
    project::MilPredictionConfig config;
    config.projectRoot = options.projectDir;
    config.checkpoint = options.checkpoint;
    if (!options.modelType.empty())
        config.type = engine::parseMilModelType(options.modelType);
    config.encoder = project::chooseEncoder(options.projectDir, options.encoder);
    config.run = options.run;
    config.labelsCsv = defaultLabels(options.projectDir, options.labels, false);
    config.classNames = splitList(options.classes);
    config.slideIds = splitList(options.slides);
    config.device = engine::resolveDevice(engine::parseDevice(options.device));

    ProgressBar bar;
    project::MilPredictionJob job(config);
    project::MilPredictionResult result;
    {
        const InterruptGuard guard([&job] { job.cancel(); });
        result = job.run([&](int done, int total, const std::string &slideId) { bar.update(done - 1, total, 1.0, slideId); });
    }
    bar.finish();

    const project::PredictionTable &table = result.table;
    printPredictionTable(table);
    for (const project::SkippedSlide &slide : result.skipped)
        std::cerr << "warning: not predicted: " << slide.slideId << ": " << slide.reason << '\n';
    const auto labelled = std::count_if(table.rows.begin(), table.rows.end(), [](const auto &row) { return row.labelIndex >= 0; });
    std::cout << "Predicted " << table.rows.size() << " slide(s) (" << labelled << " labelled, "
              << table.rows.size() - static_cast<std::size_t>(labelled) << " unlabelled); skipped " << result.skipped.size() << '\n';
    if (result.cancelled) {
        std::cout << "Cancelled after " << table.rows.size() << " slides; no tables written.\n";
        return 130;
    }
    const fs::path attentionDir = project::ProjectLayout(options.projectDir).attentionDir(table.encoder, table.run);
    std::cout << "Predictions: " << (result.runDir / "predictions.csv").string() << "; attention: " << attentionDir.string() << '\n';
    // Pathologists' annotations of a positive class (imported with icmil annotations import): does
    // the attention find them?
    for (std::size_t k = 1; k < table.classNames.size(); ++k) {
        const project::LocalisationScore score = project::localiseAgainstAnnotations(options.projectDir, attentionDir, table.classNames[k]);
        if (score.slides > 0)
            std::cout << "Attention against the '" << table.classNames[k] << "' annotations: " << score.slides << " slide(s), patch AUC "
                      << fixed(score.patchAuc, 3) << ", top-10% in them " << fixed(score.topFraction, 3) << " (of at most "
                      << fixed(score.ceiling, 3) << ")\n";
    }
    return 0;
}

int runExport(const ExportOptions &options)
{
    if (options.out.empty() && options.clam.empty() && options.regions.empty())
        throw project::ProjectError("Nothing to export: give --out FILE.csv, --clam FILE.csv and/or --regions DIR");
    if (!options.split.empty() && options.split != "train" && options.split != "val" && options.split != "test")
        throw project::ProjectError("Unknown split '" + options.split + "': expected train, val or test");
    const project::ProjectLayout layout(options.projectDir);
    const fs::path stored = layout.runDir(options.run) / "predictions.json";
    if (!fs::exists(stored))
        throw project::ProjectError("Run '" + options.run + "' has no predictions in '" + layout.runDir(options.run).string()
                                    + "' (run icmil train or icmil predict first)");
    project::PredictionTable table = project::readPredictionsJson(stored);
    if (!options.split.empty())
        std::erase_if(table.rows, [&](const auto &row) { return row.split != options.split; });
    if (!options.out.empty()) {
        project::writePredictionsCsv(options.out, table);
        std::cout << "Wrote " << table.rows.size() << " slides to " << options.out.string() << '\n';
    }
    if (!options.clam.empty()) {
        project::writeClamFoldCsv(options.clam, table);
        std::cout << "Wrote the labelled slides in CLAM's layout to " << options.clam.string() << '\n';
    }
    if (!options.regions.empty()) {
        const bool instance = options.regionMap == "instance";
        const fs::path attentionDir = layout.attentionDir(table.encoder, table.run);
        // QuPath places a slide cropped to its bounds at their corner: each slide's offset, from
        // the slide file the project's settings lead to.
        std::map<std::string, fs::path> slideFiles;
        std::string slidesProblem;
        try {
            slideFiles = project::projectSlideFiles(options.projectDir);
        } catch (const std::exception &e) {
            slidesProblem = std::string(" (") + e.what() + ")";
        }
        std::vector<std::string> withoutOffset;
        std::size_t slides = 0, regions = 0;
        for (const auto &row : table.rows) {
            const fs::path file = attentionDir / (row.slideId + ".h5");
            if (!fs::exists(file))
                continue;
            const project::SlideAttention attention = project::readAttentionFile(file);
            const std::int64_t patch = attention.patchSizeLevel0.value_or(256);
            const auto slideFile = slideFiles.find(row.slideId);
            const std::optional<std::array<double, 2>> offset
                = slideFile == slideFiles.end() ? std::nullopt : project::quPathOffsetOfFile(slideFile->second);
            if (!offset)
                withoutOffset.push_back(row.slideId);
            const std::size_t count = project::writeAttentionRegionsGeoJson(
                options.regions / (row.slideId + (instance ? "_instance_regions.geojson" : "_attention_regions.geojson")), attention, patch,
                options.regionThreshold, offset.value_or(std::array<double, 2>{0.0, 0.0}),
                instance ? project::RegionMap::InstanceScore : project::RegionMap::Attention);
            std::cout << std::left << std::setw(16) << row.slideId << ' ' << count << " region(s)\n";
            ++slides;
            regions += count;
        }
        if (!withoutOffset.empty())
            std::cerr << "warning: no slide file found for " << listSome(withoutOffset) << slidesProblem
                      << ": their regions are in level-0 coordinates, without the slide's bounds offset (QuPath shifts them on slides "
                         "cropped to their bounds, such as MIRAX)\n";
        std::cout << "Wrote " << regions << (instance ? " instance score" : " attention") << " region(s) of " << slides
                  << " slide(s) (patches at or above " << (instance ? "instance score " : "rank ") << fixed(options.regionThreshold, 2)
                  << ") to " << options.regions.string() << '\n';
    }
    return 0;
}

} // namespace icmil::cli
