// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// `icmil predict --model` and the app's Apply model: a model bundle (modelbundle.h) applied to
// new slides in one step. The output folder becomes a project: tissue and patches as the bundle's
// preprocessing says, features with the bundle's embedder (features/<bundle encoder>/), the
// classifier's prediction and attention per slide (run "model"), predictions.csv in the folder
// and the run. A rerun reuses the patches and features already made, so an interrupted job
// resumes where it stopped; a slide that fails is reported and the others go on.

#include "project/dataset/slidelist.h"
#include "project/features/extractionconfig.h"
#include "project/model/bundlepredictionconfig.h"
#include "project/model/modelbundle.h"
#include "project/training/milprediction.h"
#include "project/training/predictiontable.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace icmil::project {

class FeatureExtractor;

class BundlePredictionJob {
public:
    explicit BundlePredictionJob(BundlePredictionConfig config);
    // Throws ProjectError for a bundle that cannot be read (readModelBundle's sentences), no
    // slides, two slides with one id, an unusable output folder (or a training project) or labels CSV. Slides that fail
    // are in the result, not thrown. Cancelled: returns with cancelled set and writes no table.
    BundlePredictionResult run(const BundlePredictionEvents &events = {});
    void cancel(); // thread-safe

private:
    BundlePredictionConfig m_config;
    std::atomic_bool m_cancelled{false};
    std::mutex m_mutex;
    FeatureExtractor *m_extractor = nullptr; // while extraction runs
};

// The slides a FILE|DIR|LIST argument names: a slide file, a folder (listSlides), or a text file
// (.txt, .lst) with one slide path per line (relative to its folder; '#' starts a comment).
// Problems (unreadable entries) are appended to `problems`.
std::vector<SlideEntry> slidesToPredict(const std::filesystem::path &location, std::vector<std::string> &problems);

} // namespace icmil::project
