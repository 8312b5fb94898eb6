// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Training a bag classifier on a project (step 1 of ICMIL): load the labelled bags, train with
// validation every epoch, pick the operating threshold on validation, evaluate on test, and write
// the run folder <project>/runs/<run>/ (see projectlayout.h):
//   checkpoint.pth      the best epoch (by validation AUC), with class names, threshold, settings
//                       and metrics (engine/mil/milcheckpoint.h)
//   last.pth            the last epoch with Adam's state, for resuming
//   training_log.csv    one row per epoch (also training_log.json), rewritten after every epoch
//   metrics.json        validation and test metrics at the threshold, ROC points
//   splits.csv          slide_id,case_id,label,split
//   predictions.*       every slide's prediction; attention beside the features

#include "engine/mil/bagtrainer.h"
#include "engine/mil/milmodel.h"
#include "project/training/bagdataset.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace icmil::project {

struct MilTrainingConfig {
    BagDatasetConfig data;
    std::string run = "abmil";
    engine::MilModelConfig model; // inputDim and classes come from the data
    engine::BagTrainerConfig trainer;
    std::filesystem::path initCheckpoint; // start from these weights (ours or the reference's)
    std::optional<engine::MilModelType> initType;
    bool overwrite = false;   // replace an existing run folder's files
    std::string settingsJson; // recorded in the checkpoint (the caller's view of its settings)
};

struct MilTrainingEvents {
    // phase: "loading features", "training", "predicting"; done of total in that phase.
    std::function<void(const std::string &phase, int done, int total)> progress;
    std::function<void(const engine::EpochReport &)> epochFinished;
};

struct SplitMetrics {
    bool present = false; // the split has slides
    int slides = 0;
    double loss = 0.0;
    engine::ClassificationMetrics metrics;
    std::vector<engine::RocPoint> roc; // binary, both classes present
};

struct MilRunSummary {
    std::filesystem::path runDir;
    std::filesystem::path checkpoint;
    std::string splitDescription;
    std::vector<std::string> classNames;
    std::int64_t featureDim = 0;
    int epochsRun = 0;
    int bestEpoch = -1; // 0-based; -1 when no epoch finished
    bool cancelled = false;
    bool stoppedEarly = false;
    std::optional<double> threshold;
    std::vector<std::string> withoutPatches; // left out: features without patches (BagDatasetConfig)
    SplitMetrics train, val, test;
    double seconds = 0.0;
};

class MilTrainingJob {
public:
    explicit MilTrainingJob(MilTrainingConfig config);
    // Throws ProjectError / engine::EngineError with one sentence (bad dataset, run exists, init
    // checkpoint that does not fit, training diverged). A cancelled run keeps the best checkpoint
    // so far and the log, and skips evaluation and prediction.
    MilRunSummary run(const MilTrainingEvents &events = {});
    void cancel();

private:
    MilTrainingConfig m_config;
    std::atomic_bool m_cancelled{false};
    std::atomic<engine::BagTrainer *> m_trainer{nullptr};
};

} // namespace icmil::project
