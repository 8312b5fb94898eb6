// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The settings, events and result of one-step prediction with a model bundle
// (bundleprediction.h runs it): plain values, no LibTorch, so the app can make a job through the
// LibTorch module (project/backend/torchbackend.h) and show its result.

#include "project/dataset/slidelist.h"
#include "project/features/extractionconfig.h"
#include "project/model/modelbundleinfo.h"
#include "project/training/predictiontable.h"
#include "project/training/skippedslide.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace icmil::project {

inline constexpr const char *kBundlePredictionRun = "model";

struct BundlePredictionConfig {
    std::filesystem::path bundle;
    std::vector<SlideEntry> slides;
    std::filesystem::path slidesLocation; // recorded in the output project (icmil-project.json); may be empty
    std::filesystem::path outDir;
    std::filesystem::path labelsCsv; // optional: labels (and splits) for the table and metrics
    bool heatmaps = false;           // heatmaps/<slide>_heatmap.png: attention over the slide
    double heatmapDownsample = 32.0;
    std::string device = "auto";
    int batchSize = 64;
    int readerThreads = 0;
    bool halfPrecision = false;
};

struct BundlePredictionEvents {
    std::function<void(const ExtractionProgress &)> extraction; // tiling and features, per slide
    std::function<void(int done, int total, const std::string &slideId)> prediction;
    std::function<void(const std::string &)> message;
};

struct BundlePredictionResult {
    ModelBundleInfo info;
    std::string device;
    PredictionTable table;                   // the predicted slides, in the given order
    std::vector<SkippedSlide> failed;        // could not be read, tiled, extracted or predicted
    std::vector<std::string> withoutPatches; // no tissue patch: nothing to predict
    int extracted = 0;                       // slides whose features were made now
    int reused = 0;                          // ... found from an earlier run
    std::int64_t patches = 0;                // of the predicted slides
    double extractSeconds = 0.0;
    double predictSeconds = 0.0;
    std::filesystem::path predictionsCsv; // <out>/predictions.csv
    std::filesystem::path attentionDir;
    std::vector<std::filesystem::path> heatmaps;
    bool cancelled = false;
    bool predicted = true; // false on a torch.distributed job's other ranks, which only extract
};

} // namespace icmil::project
