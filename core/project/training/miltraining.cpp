// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/training/miltraining.h"

#include "engine/mil/bagevaluation.h"
#include "engine/mil/milcheckpoint.h"
#include "engine/mil/milmetrics.h"
#include "project/atomicfile.h"
#include "project/training/milprediction.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>

namespace icmil::project {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string number(double value)
{
    if (std::isnan(value))
        return "";
    char text[32];
    std::snprintf(text, sizeof text, "%.6g", value);
    return text;
}

json metricsJson(const SplitMetrics &split)
{
    if (!split.present)
        return nullptr;
    const engine::ClassificationMetrics &m = split.metrics;
    json roc = json::array();
    for (const auto &point : split.roc)
        roc.push_back({point.fpr, point.tpr, std::isinf(point.threshold) ? json(nullptr) : json(point.threshold)});
    json result = {{"slides", split.slides},         {"loss", split.loss},       {"auc", m.auc}, {"accuracy", m.accuracy}, {"f1", m.f1},
                   {"per_class_auc", m.perClassAuc}, {"confusion", m.confusion}, {"roc", roc}};
    if (m.hasThreshold)
        result["at_threshold"] = {{"threshold", m.threshold},
                                  {"accuracy", m.thresholdAccuracy},
                                  {"f1", m.thresholdF1},
                                  {"sensitivity", m.sensitivity},
                                  {"specificity", m.specificity}};
    return result;
}

void writeTrainingLog(const fs::path &runDir, const std::vector<engine::EpochReport> &history)
{
    std::string csv = "epoch,train_loss,tier1_loss,val_loss,val_auc,val_accuracy,val_f1,learning_rate,seconds,best\n";
    json rows = json::array();
    for (const auto &r : history) {
        const double lr = r.learningRates.empty() ? 0.0 : r.learningRates.front();
        csv += std::to_string(r.epoch + 1) + "," + number(r.trainLoss) + "," + number(r.tier1Loss) + ","
            + (r.hasValidation ? number(r.valLoss) + "," + number(r.val.auc) + "," + number(r.val.accuracy) + "," + number(r.val.f1)
                               : ",,,")
            + "," + number(lr) + "," + number(r.seconds) + "," + (r.best ? "1" : "0") + "\n";
        json row = {{"epoch", r.epoch + 1},      {"train_loss", r.trainLoss},
                    {"tier1_loss", r.tier1Loss}, {"learning_rates", r.learningRates},
                    {"seconds", r.seconds},      {"best", r.best}};
        if (r.hasValidation)
            row.update({{"val_loss", r.valLoss}, {"val_auc", r.val.auc}, {"val_accuracy", r.val.accuracy}, {"val_f1", r.val.f1}});
        rows.push_back(row);
    }
    writeFileAtomically(runDir / "training_log.csv", csv);
    writeFileAtomically(runDir / "training_log.json", json{{"epochs", rows}}.dump(1) + "\n");
}

void writeSplits(const fs::path &runDir, const BagDataset &dataset)
{
    std::string csv = "slide_id,case_id,label,split\n";
    for (const DatasetSlide &slide : dataset.slides())
        csv += slide.slideId + "," + slide.caseId + "," + slide.label + "," + splitName(slide.split) + "\n";
    writeFileAtomically(runDir / "splits.csv", csv);
}

// The metrics of one split from its model outputs (the model runs once per split).
SplitMetrics summarise(const engine::BagSetEvaluation &evaluation, int classes, std::optional<double> threshold)
{
    SplitMetrics split;
    if (evaluation.labels.empty())
        return split;
    split.present = true;
    split.slides = static_cast<int>(evaluation.labels.size());
    split.loss = evaluation.loss;
    split.metrics
        = engine::classificationMetrics(evaluation.labels, evaluation.probabilities, classes, classes == 2 ? threshold : std::nullopt);
    if (classes == 2 && !std::isnan(split.metrics.auc)) {
        std::vector<double> positive;
        for (std::size_t i = 0; i < evaluation.labels.size(); ++i)
            positive.push_back(evaluation.probabilities[2 * i + 1]);
        split.roc = engine::rocCurve(evaluation.labels, positive);
    }
    return split;
}

} // namespace

MilTrainingJob::MilTrainingJob(MilTrainingConfig config) : m_config(std::move(config))
{ }

void MilTrainingJob::cancel()
{
    m_cancelled.store(true);
    if (engine::BagTrainer *trainer = m_trainer.load())
        trainer->cancel();
}

MilRunSummary MilTrainingJob::run(const MilTrainingEvents &events)
{
    const auto started = std::chrono::steady_clock::now();
    const ProjectLayout layout(m_config.data.projectRoot);
    MilRunSummary summary;
    summary.runDir = layout.runDir(m_config.run);
    summary.checkpoint = summary.runDir / "checkpoint.pth";
    if (fs::exists(summary.checkpoint) && !m_config.overwrite)
        throw ProjectError("Run '" + m_config.run + "' already exists in '" + summary.runDir.string()
                           + "': choose another run name, or overwrite it (--overwrite)");

    std::optional<engine::MilCheckpoint> init;
    BagDatasetConfig data = m_config.data;
    if (!m_config.initCheckpoint.empty()) {
        if (!fs::exists(m_config.initCheckpoint))
            throw ProjectError("Checkpoint '" + m_config.initCheckpoint.string() + "' does not exist");
        init = engine::readMilCheckpoint(m_config.initCheckpoint, m_config.initType);
        if (data.classNames.empty())
            data.classNames = init->classNames;
    }

    const BagDataset dataset = BagDataset::load(
        data,
        [&](int done, int total) {
            if (events.progress)
                events.progress("loading features", done, total);
        },
        &m_cancelled);
    summary.splitDescription = describeSplit(dataset.split());
    summary.classNames = dataset.classNames();
    summary.featureDim = dataset.featureDim();
    summary.withoutPatches = dataset.withoutPatches();
    if (dataset.cancelled()) {
        summary.cancelled = true;
        return summary;
    }
    const int classes = static_cast<int>(dataset.classNames().size());

    std::shared_ptr<engine::MilModel> model;
    if (init) {
        if (init->model.inputDim != dataset.featureDim())
            throw ProjectError("Checkpoint '" + m_config.initCheckpoint.string() + "' takes " + std::to_string(init->model.inputDim)
                               + " features per patch; the project's '" + data.encoder + "' features have "
                               + std::to_string(dataset.featureDim()));
        if (init->model.classes != classes)
            throw ProjectError("Checkpoint '" + m_config.initCheckpoint.string() + "' has " + std::to_string(init->model.classes)
                               + " classes; the labels have " + std::to_string(classes));
        model = engine::instantiateMilModel(*init, torch::Device(m_config.trainer.device));
    } else {
        engine::MilModelConfig modelConfig = m_config.model;
        modelConfig.inputDim = dataset.featureDim();
        modelConfig.classes = classes;
        model = engine::makeMilModel(modelConfig);
    }

    const std::vector<engine::Bag> trainBags = dataset.bags(Split::Train);
    const std::vector<engine::Bag> valBags = dataset.bags(Split::Val);
    const std::vector<engine::Bag> testBags = dataset.bags(Split::Test);
    if (trainBags.empty())
        throw ProjectError("The split has no training slides: " + summary.splitDescription);

    fs::create_directories(summary.runDir);
    writeSplits(summary.runDir, dataset);

    engine::BagTrainer trainer(model, m_config.trainer);
    m_trainer.store(&trainer);
    if (m_cancelled.load())
        trainer.cancel();
    std::vector<engine::EpochReport> history;
    engine::TrainingCallbacks callbacks;
    callbacks.epochFinished = [&](const engine::EpochReport &report) {
        history.push_back(report);
        writeTrainingLog(summary.runDir, history);
        if (events.epochFinished)
            events.epochFinished(report);
    };
    callbacks.bagFinished = [&](int epoch, int bag, int bags, double) {
        if (events.progress)
            events.progress("training", epoch * bags + bag, m_config.trainer.epochs * bags);
    };
    engine::TrainingResult result;
    try {
        result = trainer.train(trainBags, valBags, callbacks);
    } catch (...) {
        m_trainer.store(nullptr);
        throw;
    }
    m_trainer.store(nullptr);
    summary.epochsRun = static_cast<int>(result.history.size());
    summary.bestEpoch = result.bestEpoch;
    summary.cancelled = result.cancelled || m_cancelled.load();
    summary.stoppedEarly = result.stoppedEarly;
    if (result.bestEpoch < 0) {
        summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return summary;
    }

    // The model now holds the best epoch's weights. The threshold is chosen on validation only.
    const engine::BagSetEvaluation valOutputs = engine::evaluateBags(*model, valBags);
    summary.val = summarise(valOutputs, classes, std::nullopt);
    if (classes == 2 && !summary.val.roc.empty()) {
        summary.threshold = engine::chooseOperatingThreshold(valOutputs.labels, valOutputs.probabilities);
        summary.val = summarise(valOutputs, classes, summary.threshold);
    }
    summary.train = summarise(engine::evaluateBags(*model, trainBags), classes, summary.threshold);
    summary.test = summarise(engine::evaluateBags(*model, testBags), classes, summary.threshold);

    const json metrics = {{"best_epoch", result.bestEpoch + 1},
                          {"epochs_run", summary.epochsRun},
                          {"threshold", summary.threshold ? json(*summary.threshold) : json(nullptr)},
                          {"class_names", summary.classNames},
                          {"train", metricsJson(summary.train)},
                          {"val", metricsJson(summary.val)},
                          {"test", metricsJson(summary.test)}};
    engine::MilCheckpoint best = result.best;
    best.classNames = summary.classNames;
    best.threshold = summary.threshold;
    best.trainingConfigJson = m_config.settingsJson;
    best.metricsJson = metrics.dump();
    engine::writeMilCheckpoint(summary.checkpoint, best);
    engine::MilCheckpoint last = result.last;
    last.classNames = summary.classNames;
    last.trainingConfigJson = m_config.settingsJson;
    engine::writeMilCheckpoint(summary.runDir / "last.pth", last);
    writeFileAtomically(summary.runDir / "metrics.json", metrics.dump(1) + "\n");

    if (!summary.cancelled) {
        std::vector<PredictionTarget> targets;
        for (const DatasetSlide &slide : dataset.slides())
            targets.push_back({slide.slideId, slide.caseId, slide.label, splitName(slide.split), slide.classIndex, slide.featureFile});
        const PredictionOutput output{m_config.data.projectRoot, m_config.data.encoder, m_config.run, summary.classNames,
                                      summary.threshold};
        const PredictionTable table = predictSlides(
            *model, targets, output,
            [&](int done, int total, const std::string &) {
                if (events.progress)
                    events.progress("predicting", done, total);
            },
            &m_cancelled);
        summary.cancelled = m_cancelled.load();
        if (!summary.cancelled)
            writeRunPredictions(summary.runDir, table, m_config.data.split.fold);
    }
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return summary;
}

} // namespace icmil::project
