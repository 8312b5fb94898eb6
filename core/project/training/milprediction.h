// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Running a trained bag classifier over a project's slides: per slide, the class probabilities and
// the per-patch attention (written beside the features for the heatmap layer), and the run's
// predictions table (predictions.csv, CLAM's fold_<k>.csv, predictions.json).

#include "engine/mil/milcheckpoint.h"
#include "project/training/predictiontable.h"
#include "project/training/skippedslide.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

// One slide to predict: its features and what the labels CSV says about it (may be nothing).
struct PredictionTarget {
    std::string slideId;
    std::string caseId;
    std::string label;
    std::string split;
    int labelIndex = -1;
    std::filesystem::path featureFile;
};

struct PredictionOutput {
    std::filesystem::path projectRoot;
    std::string encoder;
    std::string run;
    std::vector<std::string> classNames;
    std::optional<double> threshold;
};

using PredictionProgress = std::function<void(int done, int total, const std::string &slideId)>;

// Predicts each target with `model` (eval, no gradients), writes
// features/<encoder>/attention/<run>/<slide>.h5 for each, and returns the table. Stops between
// slides when `cancel` becomes true (the rows so far are returned). Throws ProjectError for a
// feature file that cannot be read or does not fit the model.
PredictionTable predictSlides(engine::MilModel &model, const std::vector<PredictionTarget> &targets, const PredictionOutput &output,
                              const PredictionProgress &progress = {}, const std::atomic_bool *cancel = nullptr);

// Writes the run's tables: predictions.csv, predictions.json and (when some rows are labelled)
// fold_<fold>.csv in CLAM's layout with the test rows (all labelled rows when none is test).
void writeRunPredictions(const std::filesystem::path &runDir, const PredictionTable &table, int fold = 0);

struct MilPredictionConfig {
    std::filesystem::path projectRoot;
    std::filesystem::path checkpoint;         // ours or an ICMIL reference checkpoint
    std::optional<engine::MilModelType> type; // for a reference checkpoint; inferred when unset
    std::string encoder;                      // empty: the project's only feature folder
    std::string run;                          // empty: the checkpoint's file name without extension
    std::filesystem::path labelsCsv;          // optional: labels, cases and splits for the table
    std::vector<std::string> classNames;      // for a reference checkpoint (default: "0", "1", ...)
    std::vector<std::string> slideIds;        // empty: every slide with features, labelled or not
    torch::Device device = torch::kCPU;
};

struct MilPredictionResult {
    PredictionTable table;
    // Not predicted: labelled slides without features, slides whose features have no patches.
    std::vector<SkippedSlide> skipped;
    std::filesystem::path runDir;
    bool cancelled = false;
};

class MilPredictionJob {
public:
    explicit MilPredictionJob(MilPredictionConfig config);
    // Throws ProjectError / engine::EngineError with one sentence for a missing checkpoint, an
    // unknown encoder, slides without features, features of another width.
    MilPredictionResult run(const PredictionProgress &progress = {});
    void cancel() { m_cancelled.store(true); }

private:
    MilPredictionConfig m_config;
    std::atomic_bool m_cancelled{false};
};

// The encoder folders under <project>/features that hold feature files.
std::vector<std::string> projectEncoders(const std::filesystem::path &projectRoot);

// `given` when not empty, else the project's only encoder. Throws ProjectError when the project
// has no features, or features of several encoders ("... choose one with --encoder").
std::string chooseEncoder(const std::filesystem::path &projectRoot, const std::string &given);

} // namespace icmil::project
