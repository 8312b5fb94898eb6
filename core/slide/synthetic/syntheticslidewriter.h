// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/synthetic/syntheticpreset.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace icmil::slide {

struct SyntheticSlideConfig {
    std::int64_t width = 20000; // level-0 pixels
    std::int64_t height = 16000;
    std::uint64_t seed = 1;                         // same seed + same config => byte-identical files
    bool positive = false;                          // true: the slide contains tumour regions
    SyntheticPreset preset = SyntheticPreset::Easy; // how hard (syntheticpreset.h)
    double mpp = 0.5;                               // microns per level-0 pixel (written as Aperio MPP)
    int objectivePower = 20;                        // written as Aperio AppMag
    int tileSize = 256;                             // TIFF tile edge (pixels)
    int jpegQuality = 80;
    int levelFactor = 4;               // downsample between consecutive pyramid levels
    int maskDownsample = 32;           // ground-truth mask PNG is level-0 size / maskDownsample
    int threads = 0;                   // 0 = all hardware threads
    std::string slideId = "synthetic"; // written into the Aperio description (Filename)
};

// One tumour region of the ground truth: a closed polygon in level-0 pixel coordinates.
struct TumourRegion {
    std::vector<std::pair<double, double>> polygon; // (x, y), first point not repeated at the end
    double areaPixels = 0.0;                        // level-0 pixels
};

struct SyntheticSlideResult {
    std::filesystem::path slidePath;
    std::filesystem::path maskPath;    // PNG, 8-bit, 255 = tumour, size ceil(level0 / maskDownsample)
    std::filesystem::path geojsonPath; // FeatureCollection of tumour polygons, level-0 coordinates
    int levelCount = 0;
    std::uint64_t fileBytes = 0;
    double seconds = 0.0;
    double tissueFraction = 0.0; // of the slide area
    double tumourFraction = 0.0; // of the tissue area
    double mimicFraction = 0.0;  // lymphoid aggregates (tumour mimics), of the tissue area
    int mimicRegions = 0;        // aggregates, of which germinalCentres have a centre
    int germinalCentres = 0;
    bool microMetastasesOnly = false; // heavy-tailed presets: only micro-metastases
    int centre = 0;                   // the simulated scanning centre (site variation)
    bool blurred = false;             // has out-of-focus regions
    int penStrokes = 0;
    int folds = 0;
    std::vector<TumourRegion> tumours;
};

// Writes a synthetic H&E-like whole-slide image: a pyramidal, tiled, JPEG-compressed TIFF laid
// out as an Aperio SVS (so OpenSlide reports openslide.mpp-x/y and objective power), plus its
// ground truth (tumour mask PNG and GeoJSON). Written tile by tile: memory stays bounded for
// 100k x 80k slides. Files appear atomically (temp file + rename).
class SyntheticSlideWriter {
public:
    using ProgressCallback = std::function<void(double fraction)>; // 0..1, called from the writing thread

    explicit SyntheticSlideWriter(SyntheticSlideConfig config);

    // Throws SlideError (bad config, I/O failure, disk full, cancelled) and leaves no partial files.
    SyntheticSlideResult write(const std::filesystem::path &slidePath, const std::filesystem::path &maskPath,
                               const std::filesystem::path &geojsonPath, const ProgressCallback &progress = {});

    // Safe from any thread; write() then throws SlideError ("...: cancelled") at the next tile row.
    // Sticky: a cancel that arrives before write() starts cancels it too.
    void cancel() { m_cancelled = true; }

    const SyntheticSlideConfig &config() const { return m_config; }

private:
    SyntheticSlideConfig m_config;
    std::atomic_bool m_cancelled{false};
};

} // namespace icmil::slide
