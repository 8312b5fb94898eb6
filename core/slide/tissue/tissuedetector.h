// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/io/slidesource.h"
#include "slide/tissue/tissuedetectionparams.h"
#include "slide/tissue/tissuemap.h"

#include <cstdint>
#include <vector>

namespace icmil::slide {

// Which pixels the detector reads: one pyramid level, shrunk by an integer box reduction while
// reading when even the coarsest acceptable level exceeds maxMaskPixels.
struct TissueReadPlan {
    int level = 0;
    int reduction = 1;
    int maskWidth = 0; // ceil(level width / reduction)
    int maskHeight = 0;
};

// Finds tissue the CLAM way on a low-resolution level: RGB (white-balanced, see
// TissueDetectionParams::whiteBalance) -> HSV saturation, median blur, threshold (fixed or Otsu),
// morphological closing, contours with holes filtered by physical area (mm^2, capped by the
// slide's own area; see TissueDetectionParams and TissueContourFilter). The map's stats() say
// which white point, mpp and thresholds were used and, when nothing was found, what the
// saturation looked like. A level of up to 16 MP is read in one call
// (OpenSlide's fast path); larger ones, which are shrunk while reading, in chunks of at most
// 4096 x 256 pixels on a few threads, so memory stays near the mask size.
class TissueDetector {
public:
    explicit TissueDetector(TissueDetectionParams params = {});

    const TissueDetectionParams &params() const { return m_params; }

    // Throws SlideError: invalid settings, a missing segmentation level, any read error (the
    // reader's own message), or "Cannot detect tissue in '<file>': <cause>".
    TissueMap detect(const SlideSource &slide) const;

    // Level choice: segLevel when set, else the finest level with downsample <= targetDownsample,
    // moving to coarser levels while the level has more than maxMaskPixels pixels; if the
    // coarsest is still too large, the smallest integer reduction that fits.
    static TissueReadPlan plan(const SlideMetadata &metadata, const TissueDetectionParams &params);

    // OpenCV's 8-bit HSV saturation of one RGB pixel (round(255 * (max - min) / max), bit-exact).
    static std::uint8_t saturation(std::uint8_t r, std::uint8_t g, std::uint8_t b);

    // 255 where the median of the kernel x kernel window around a pixel (borders replicated, as
    // cv::medianBlur) is > threshold, else 0: CLAM's median blur + binary threshold in one step,
    // computed exactly by counting window values above the threshold (a box filter), which is
    // several times faster than the median itself. `image` is width x height bytes; kernel odd.
    static std::vector<std::uint8_t> medianAbove(const std::vector<std::uint8_t> &image, int width, int height, int kernel, int threshold);

private:
    TissueDetectionParams m_params;
};

} // namespace icmil::slide
