// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/training/attentionstore.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace icmil::slide {
class SlideSource;
}

namespace icmil::project {

// How patch scores become colours, as the app's viewer does it (ui/viewer/attentionheatmap.h).
enum class ScoreNormalisation {
    PercentileRank, // rank / (n - 1) over the raw scores, ties share their average rank (CLAM; the default)
    MinMax,         // (raw - min) / (max - min); all equal: 0.5
    Probability,    // the scores as they are, clamped to [0, 1] (the instance view's probabilities)
};

struct WholeSlideHeatmapOptions {
    double downsample = 16.0;         // level-0 pixels per output pixel
    bool overlay = false;             // blend the cells over the slide, else the cells alone
    double opacity = 0.5;             // of the cells over the slide (overlay only)
    std::string colormap = "viridis"; // common/colormaptable.h: viridis, turbo, jet, coolwarm
    ScoreNormalisation normalisation = ScoreNormalisation::PercentileRank;
    bool whiteBackground = false; // alone: the PNG over white instead of transparent (a TIFF, without alpha, is always over white)
    int jpegQuality = 90;         // of the TIFF's tiles
    int threads = 0;              // TIFF tile encoders; 0: all hardware threads
};

struct WholeSlideHeatmapImage {
    std::int64_t width = 0; // pixels of the picture (the TIFF's level 0): ceil(slide level 0 / downsample)
    std::int64_t height = 0;
    int levels = 1; // pyramid levels of a TIFF; 1 for a PNG
};

// The slide's patch scores as a picture of the whole slide at level-0 downsample
// options.downsample: each patch's square coloured by its normalised score; elsewhere
// transparent (alone: RGBA PNG), white (alone over white, or a TIFF) or the slide itself
// (overlay: the slide read at the best level for the downsample and resized, the cells blended
// over it with options.opacity). An output pixel belongs to the patch whose square holds its
// centre; a patch smaller than a pixel still gets the pixel holding its centre; where patches
// overlap the later one is drawn. `output` ending in .png: an RGBA PNG (the whole picture in
// memory; refused beyond 2^28 pixels); .tif or .tiff: a tiled (256), JPEG, pyramidal TIFF with
// levels by factor 2 down to 512 pixels, resolution tags when the slide's mpp is known, written a
// band of tiles at a time, that OpenSlide (generic-tiff), QuPath and ASAP open. Atomic.
// Throws ProjectError "Cannot write the heatmap 'x': <cause>" (sizes that disagree, no patches,
// a score that is not finite, an unknown colormap, a bad downsample or extension, I/O) and the
// slide's SlideError when reading it fails.
WholeSlideHeatmapImage writeWholeSlideHeatmap(const slide::SlideSource &slide, const std::vector<std::array<std::int64_t, 2>> &coords,
                                              std::int64_t patchSizeLevel0, const std::vector<float> &scores,
                                              const WholeSlideHeatmapOptions &options, const std::filesystem::path &output);

// Which of a model's per-patch scores to draw.
struct HeatmapScoreChoice {
    bool instance = false; // the instance view (instanceScores) instead of the attention
    int classIndex = -1;   // instance: the class's probability; -1: the last class
};

struct SlideScores {
    std::vector<float> scores; // one per patch
    std::string what;          // "attention", "probability of tumor": what the legend names
};

// The attention: the raw scores when present, else the normalised ones (what the viewer draws);
// the instance view: column classIndex of instanceScores. Throws ProjectError "Slide 'x' has no
// instance scores" or "... has no class 3 (2 classes)".
SlideScores slideScores(const SlideAttention &attention, const HeatmapScoreChoice &choice = {});

// The same for a model's output as stored: slideScores(attention, choice) at
// attentionPatchSize(attention).
WholeSlideHeatmapImage writeWholeSlideHeatmap(const slide::SlideSource &slide, const SlideAttention &attention,
                                              const WholeSlideHeatmapOptions &options, const std::filesystem::path &output,
                                              const HeatmapScoreChoice &choice = {});

// The patch side in level-0 pixels: as stored, else the smallest step between patch corners,
// else 256.
std::int64_t attentionPatchSize(const SlideAttention &attention);

// The legend of such a picture as a PNG (atomic): a colour bar of the colormap from 0 to 1 with
// its ends labelled, under a title naming the map, what was drawn (`what`, e.g. "attention") and
// the normalisation. Throws ProjectError as writeWholeSlideHeatmap does.
void writeHeatmapLegend(const std::filesystem::path &path, const WholeSlideHeatmapOptions &options, const std::string &what = "attention");

std::string normalisationName(ScoreNormalisation normalisation); // "percentile rank", "min-max", "probability"

} // namespace icmil::project
