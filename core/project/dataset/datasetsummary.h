// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/dataset/labelstable.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

// What a dataset folder holds, read back from disk through the slide layer: the check that the
// files a generator or a user put there really open.
struct SlideFacts {
    LabelledSlide labels;
    std::filesystem::path path; // empty when no slide file matches the slide_id
    std::string error;          // why the slide could not be opened, empty when it opened
    std::string vendor;
    std::int64_t width = 0;
    std::int64_t height = 0;
    int levelCount = 0;
    std::optional<double> mpp;
    std::optional<double> objectivePower;
    std::uint64_t fileBytes = 0;
};

struct DatasetSummary {
    std::filesystem::path root;
    std::vector<SlideFacts> slides;
    std::vector<LabelsIssue> labelIssues;
    std::map<std::string, int> slidesPerLabel;
    int openable = 0;

    // Reads DIR/labels.csv and opens DIR/slides/<slide_id>.<ext> for every row.
    static DatasetSummary inspect(const std::filesystem::path &datasetDir);
    // A human-readable table for the CLI.
    std::string format() const;
};

} // namespace icmil::project
