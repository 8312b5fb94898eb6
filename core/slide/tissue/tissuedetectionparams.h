// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace icmil::slide {

// Every setting of the tissue detector (CLAM's segmentTissue + _filter_contours; CLAM's names in
// brackets). Areas are physical: mm^2 of level-0 tissue, converted to pixels with the slide's
// microns per pixel (from its objective power when the slide has no mpp, mpp = 10 / power; when it
// has neither, assumedMpp). CLAM counts areas in 512 x 512 level-0 "reference patches", which
// makes the same preset keep four times less on a 20x scan than on a 40x one and drop a small
// biopsy or a crop entirely; the presets here are CLAM's values at 0.25 um/px (40x, the scans
// they were tuned on), one reference patch = 0.016384 mm^2. And no area threshold is ever
// larger than maxAreaFraction of the slide itself, so a needle core, a biopsy or a cropped
// region keeps its tissue whatever the preset.
struct TissueDetectionParams {
    // CLAM's reference patch (512 level-0 pixels at 0.25 um/px) in mm^2: preset areas are a_t and
    // a_h times this.
    static constexpr double kClamReferencePatchMm2 = 0.016384;

    // --- which pixels are read
    int segLevel = -1;                      // [seg_level] -1: finest level with downsample <= targetDownsample
    double targetDownsample = 64.0;         // CLAM's get_best_level_for_downsample(64)
    std::int64_t maxMaskPixels = 4'000'000; // bound on the working image: a coarser level, else an integer box reduction
    int threads = 0;                        // reader threads; 0 = hardware concurrency

    // --- segmentation
    // Scale each channel so that the slide's glass colour (its most common light colour, when
    // at least 5% of the slide has it) becomes white before saturation is computed: a scanner
    // whose white balance is off tints the glass, whose saturation (15-25) is then above the
    // threshold, and the whole slide would count as tissue. Glass with every channel at 250 or
    // more is left alone, so slides on white glass are segmented exactly as CLAM does.
    bool whiteBalance = true;
    int saturationThreshold = 8; // [sthresh] tissue where median-blurred HSV saturation > this (0..254)
    bool useOtsu = false;        // [use_otsu] Otsu's threshold instead; saturationThreshold is then its floor,
                                 // so a blank slide is not split along its noise
    int medianKernel = 7;        // [mthresh] odd; 1 = no median blur
    int closeKernel = 4;         // [close] square closing kernel edge; 0 = no closing

    // --- contour filtering (RETR_CCOMP: outer contours and their holes)
    double minTissueAreaMm2 = 100 * kClamReferencePatchMm2; // [a_t] keep a region when (outer - holes) area > this
    double minHoleAreaMm2 = 16 * kClamReferencePatchMm2;    // [a_h] keep a hole when its area > this
    int maxHoles = 8;                                       // [max_n_holes] largest holes kept per region; the rest count as tissue
    double maxAreaFraction = 0.01;                          // neither area threshold exceeds this fraction of the slide's level-0 area
    double assumedMpp = 0.25;                               // um per level-0 pixel when the slide has neither mpp nor objective power

    // The preset these settings started from (the defaults above are CLAM's "default"), for
    // messages and saved settings; settings changed afterwards are named on their own.
    std::string presetName = "default";

    // CLAM's presets: "default" (create_patches_fp.py's defaults), "tcga", "bwh_biopsy",
    // "bwh_resection" (presets/*.csv), areas in mm^2 as above. Throws SlideError for an unknown name.
    static TissueDetectionParams preset(std::string_view name);
    static std::vector<std::string> presetNames();

    // Throws SlideError naming the first invalid setting.
    void validate() const;
};

} // namespace icmil::slide
