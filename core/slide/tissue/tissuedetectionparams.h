// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace icmil::slide {

// Every setting of the tissue detector (CLAM's segmentTissue + _filter_contours; CLAM's names in
// brackets). Areas are counted in "reference patches": one reference patch is
// referencePatchSize^2 LEVEL-0 pixels, scaled to the mask as CLAM does
// (int(ref^2 / (downsampleX * downsampleY)) mask pixels), so a_t = 100 means "at least 100
// 512 x 512 level-0 patches of tissue" whatever level the mask comes from.
struct TissueDetectionParams {
    // --- which pixels are read
    int segLevel = -1;                      // [seg_level] -1: finest level with downsample <= targetDownsample
    double targetDownsample = 64.0;         // CLAM's get_best_level_for_downsample(64)
    std::int64_t maxMaskPixels = 4'000'000; // bound on the working image: a coarser level, else an integer box reduction
    int threads = 0;                        // reader threads; 0 = hardware concurrency

    // --- segmentation
    int saturationThreshold = 8; // [sthresh] tissue where median-blurred HSV saturation > this (0..254)
    bool useOtsu = false;        // [use_otsu] Otsu's threshold instead; saturationThreshold is then its floor,
                                 // so a blank slide is not split along its noise
    int medianKernel = 7;        // [mthresh] odd; 1 = no median blur
    int closeKernel = 4;         // [close] square closing kernel edge; 0 = no closing

    // --- contour filtering (RETR_CCOMP: outer contours and their holes)
    double minTissueArea = 100.0; // [a_t] keep a region when (outer - holes) area > this, in reference patches
    double minHoleArea = 16.0;    // [a_h] keep a hole when its area > this, in reference patches
    int maxHoles = 8;             // [max_n_holes] largest holes kept per region; the rest count as tissue
    int referencePatchSize = 512; // [ref_patch_size] level-0 pixels

    // The preset these settings started from (the defaults above are CLAM's "default"), for
    // messages and saved settings; settings changed afterwards are named on their own.
    std::string presetName = "default";

    // CLAM's presets: "default" (create_patches_fp.py's defaults), "tcga", "bwh_biopsy",
    // "bwh_resection" (presets/*.csv). Throws SlideError for an unknown name.
    static TissueDetectionParams preset(std::string_view name);
    static std::vector<std::string> presetNames();

    // Throws SlideError naming the first invalid setting.
    void validate() const;
};

} // namespace icmil::slide
