// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/dataset/labelstable.h"

#include <cstdint>
#include <string>
#include <vector>

namespace icmil::project {

// How to divide a labelled dataset into train, validation and test slides.
struct SplitConfig {
    double valFraction = 0.1; // CLAM's create_splits defaults
    double testFraction = 0.1;
    std::uint64_t seed = 1;
    int folds = 1;           // k-fold cross-validation when >= 2
    int fold = 0;            // which fold, 0..folds-1
    bool useCsvSplit = true; // use the labels CSV's split column when it has one
};

enum class Split { Train, Val, Test };

// "train", "val" or "test".
std::string splitName(Split split);

struct SlideSplit {
    std::string slideId;
    std::string caseId;
    std::string label;
    int classIndex = 0; // index of label in DatasetSplit::classNames
    Split split = Split::Train;
};

struct DatasetSplit {
    std::vector<SlideSplit> slides;      // in the labels table's row order
    std::vector<std::string> classNames; // LabelsTable::classNames()
    bool fromCsv = false;                // true when the CSV's split column was used

    // counts()[split][class]: number of slides, indexed by static_cast<int>(Split) and class index.
    std::vector<std::vector<int>> counts() const;
    int count(Split split, int classIndex) const;
    int count(Split split) const;
    // The slides of one split, in row order; the pointers stay valid while slides is unchanged.
    std::vector<const SlideSplit *> of(Split split) const;
};

// Assigns every row of the table to a split. Uses the CSV's split column when it has one and
// config.useCsvSplit is set; otherwise a patient-level split stratified by class, reproducible
// from config.seed. Throws ProjectError for an unusable table or config.
DatasetSplit assignSplits(const LabelsTable &table, const SplitConfig &config);

// One line for a log or a status bar:
// "train 80 (normal 40, tumor 40) · val 10 (normal 5, tumor 5) · test 10 (normal 5, tumor 5)".
std::string describeSplit(const DatasetSplit &split);

} // namespace icmil::project
