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

namespace icmil::engine {
class DistributedGroup;
}

namespace icmil::project {

class FeatureExtractor;

class BundlePredictionJob {
public:
    // With a `group` (engine/distributed), one rank of a torch.distributed job in which every
    // rank runs the same job: each extracts its share of the slides (dataset/slideshare.h), then
    // rank 0 alone predicts every slide from the features (the classifier's part: milliseconds a
    // slide), draws the heatmaps and writes the tables; the others return once every rank has
    // extracted, with the whole job's extraction figures and `predictedBy` 0.
    explicit BundlePredictionJob(BundlePredictionConfig config, engine::DistributedGroup *group = nullptr);
    // Throws ProjectError for a bundle that cannot be read (readModelBundle's sentences), no
    // slides, two slides with one id, an unusable output folder (or a training project) or labels CSV. Slides that fail
    // are in the result, not thrown. Cancelled: returns with cancelled set and writes no table.
    BundlePredictionResult run(const BundlePredictionEvents &events = {});
    void cancel(); // thread-safe

private:
    BundlePredictionConfig m_config;
    engine::DistributedGroup *m_group = nullptr;
    std::atomic_bool m_cancelled{false};
    std::mutex m_mutex;
    FeatureExtractor *m_extractor = nullptr; // while extraction runs
};

// The slides a FILE|DIR|LIST argument names: a slide file, a folder (listSlides), or a text file
// (.txt, .lst) with one slide path per line (relative to its folder; '#' starts a comment).
// Problems (unreadable entries) are appended to `problems`.
std::vector<SlideEntry> slidesToPredict(const std::filesystem::path &location, std::vector<std::string> &problems);

} // namespace icmil::project
