// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Slide-level predictions of a run and the files they are exported to:
//   predictions.csv   slide_id,case_id,label,split,p_0..p_{C-1},predicted,patches,above_threshold
//                     (predicted: class name; above_threshold: yes/no on p_1, empty without a threshold)
//   fold_<k>.csv      CLAM's eval layout: slide_id,Y,Y_hat,p_0..p_{C-1}     (labelled slides only)
//   predictions.json  everything, read back by `icmil export`

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

struct SlidePredictionRow {
    std::string slideId;
    std::string caseId;
    std::string label;   // empty when unknown
    std::string split;   // "train", "val", "test", or empty
    int labelIndex = -1; // class index of `label`, -1 when unknown
    std::vector<double> probabilities;
    int predicted = 0; // class index
    long long patches = 0;
};

struct PredictionTable {
    std::string run;
    std::string modelType;
    std::string encoder;
    std::vector<std::string> classNames;
    std::optional<double> threshold; // binary operating threshold used for `predicted`
    std::vector<SlidePredictionRow> rows;
};

// The decision rule: binary with a threshold: class 1 when p_1 >= threshold; else the argmax
// (ties to the lower index).
int decideClass(const std::vector<double> &probabilities, std::optional<double> threshold);

// All atomic; throw ProjectError "Cannot write 'x': <cause>".
void writePredictionsCsv(const std::filesystem::path &path, const PredictionTable &table);
// Only rows with a label; `split` non-empty: only rows of that split.
void writeClamFoldCsv(const std::filesystem::path &path, const PredictionTable &table, const std::string &split = {});
void writePredictionsJson(const std::filesystem::path &path, const PredictionTable &table);
// Throws ProjectError "Cannot read predictions from 'x': <cause>".
PredictionTable readPredictionsJson(const std::filesystem::path &path);

} // namespace icmil::project
