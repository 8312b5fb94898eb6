// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The labelled bags a MIL model trains on: labels CSV + splits + one feature file per slide from a
// project's feature store, checked as a whole before any training starts so a bad dataset gives
// one clear error listing what is wrong (bad CSV rows, unknown labels, missing feature files,
// features of different widths, a single class).

#include "common/listtext.h"
#include "engine/mil/bagevaluation.h"
#include "project/dataset/datasetsplit.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

class LabelsTable;

struct BagDatasetConfig {
    std::filesystem::path projectRoot;
    std::filesystem::path labelsCsv;     // CLAM layout: case_id,slide_id,label[,split]
    std::string encoder;                 // features/<encoder>/
    std::vector<std::string> classNames; // class index -> label; empty: the CSV's labels, sorted
    SplitConfig split;
    // Slides to leave out (unreadable, no tissue): dropped after the split is drawn, so the
    // others keep the split they have with every slide.
    std::vector<std::string> leftOut;
    // A slide whose feature file has no patches (tissue detection found none) is left out too,
    // named in BagDataset::withoutPatches(), instead of failing the load; false: it fails.
    bool leaveOutWithoutPatches = false;
};

struct DatasetSlide {
    std::string slideId;
    std::string caseId;
    std::string label;
    int classIndex = 0;
    Split split = Split::Train;
    std::filesystem::path featureFile;
    std::int64_t patches = 0;
    std::optional<std::int64_t> patchSizeLevel0;
};

class BagDataset {
public:
    using Progress = std::function<void(int done, int total)>;

    // Throws ProjectError: the labels file's own errors; "labels.csv has 2 problems: line 4:
    // duplicate slide_id 's1' (first on line 2); line 7: ..."; "Slide 's3' has label 'benign',
    // which is not one of the classes normal, tumor"; "No features for 2 of 20 slides in
    // '<dir>': s1, s7 (run icmil extract first)"; "Slide 's4' has 768 features per patch, slide
    // 's1' 1024"; the split's errors (one class only, ...); a feature file that cannot be read.
    // Returns early (cancelled() true) when `cancel` becomes true while features load.
    static BagDataset load(const BagDatasetConfig &config, const Progress &progress = {}, const std::atomic_bool *cancel = nullptr);

    const std::vector<std::string> &classNames() const { return m_classNames; }
    const std::vector<DatasetSlide> &slides() const { return m_slides; }
    const DatasetSplit &split() const { return m_split; }
    std::int64_t featureDim() const { return m_featureDim; }
    bool cancelled() const { return m_cancelled; }
    // Slides left out because their features have no patches (leaveOutWithoutPatches).
    const std::vector<std::string> &withoutPatches() const { return m_withoutPatches; }

    // The bags of one split (tensors shared, not copied), in the labels CSV's order.
    std::vector<engine::Bag> bags(Split split) const;
    const engine::Bag &bag(std::size_t slideIndex) const { return m_bags[slideIndex]; }

private:
    std::vector<std::string> m_classNames;
    std::vector<DatasetSlide> m_slides;
    std::vector<engine::Bag> m_bags; // parallel to m_slides
    DatasetSplit m_split;
    std::int64_t m_featureDim = 0;
    bool m_cancelled = false;
    std::vector<std::string> m_withoutPatches;
};

// "No features for 2 of 20 slides in '<dir>': s1, s7 (run icmil extract first)".
std::string missingFeaturesMessage(const std::vector<std::string> &missing, std::size_t total, const std::filesystem::path &featuresDir);

// Throws ProjectError "labels.csv has 2 problems: line 4: ...; line 7: ..." (up to 5, then "and N
// more") when the table has row problems; returns otherwise.
void throwOnLabelsIssues(const LabelsTable &table, const std::filesystem::path &labelsCsv);

} // namespace icmil::project
