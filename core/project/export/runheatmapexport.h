// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/export/wholeslideheatmap.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace icmil::project {

// The whole-slide heatmaps of a run's slides, as `icmil heatmap` and the app's File > Export
// whole-slide heatmap write them: for each slide with an attention map
// (features/<encoder>/attention/<run>/<slide>.h5, the encoder from runs/<run>/predictions.json),
// <out>/<slide>_heatmap.png and/or <out>/<slide>_heatmap.tif, and <out>/<slide>_legend.png.
struct RunHeatmapExport {
    std::filesystem::path projectDir;
    std::string run;                 // runs/<run>/
    std::vector<std::string> slides; // these slide ids; empty: every slide of the run with an attention map
    std::filesystem::path slidesDir; // where the slide files are; empty: the project's (icmil-project.json)
    std::filesystem::path outputDir;
    bool png = true;
    bool tiff = false;
    bool instance = false; // the instance view (a class's probability per patch) instead of the attention
    std::string className; // instance: the class, by name; empty: the last class
    WholeSlideHeatmapOptions heatmap;
};

struct SlideHeatmapResult {
    std::string slideId;
    std::vector<std::filesystem::path> files; // what was written (legend last)
    WholeSlideHeatmapImage image;
    std::string error; // one sentence; empty: written
};

// The slides the export would draw, in predictions.json's order: `slides` when given (each must
// be a slide of the run), else every slide of the run that has an attention map. Throws
// ProjectError when the run has no predictions or a named slide is not in it.
std::vector<std::string> runHeatmapSlides(const RunHeatmapExport &request);

// Writes them one slide after the other, each reported to `onSlide` as it is done: a slide that
// fails (no attention map, no slide file, unreadable) is reported and the others go on.
// Throws ProjectError as runHeatmapSlides does, and when the options are wrong (an unknown
// colormap or class, neither PNG nor TIFF, a downsample below 1) or the output folder cannot be
// made, before any slide is drawn.
std::vector<SlideHeatmapResult> exportRunHeatmaps(const RunHeatmapExport &request,
                                                  const std::function<void(const SlideHeatmapResult &)> &onSlide = {});

} // namespace icmil::project
