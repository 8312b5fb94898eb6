// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace icmil::slide {

// A closed ring in LEVEL-0 pixel coordinates, first point not repeated at the end.
using TissueRing = std::vector<std::pair<double, double>>;

// One connected piece of tissue: its outline and the holes (lumens, fat, tears) cut out of it.
// Vertices are the centres of the mask's boundary pixels, mapped to level 0.
struct TissueRegion {
    TissueRing outer;
    std::vector<TissueRing> holes;
    double areaPixels = 0.0; // level-0 pixels: outline area minus the holes' areas
};

// What the detector saw and what it used, for reports and for advice when it found nothing.
struct TissueDetectionStats {
    double mppX = 0.0; // microns per level-0 pixel used for the areas
    double mppY = 0.0;
    std::string mppSource;         // "slide", "objective power" or "assumed"
    double minTissueAreaMm2 = 0.0; // the area thresholds applied (after the cap by the slide's area)
    double minHoleAreaMm2 = 0.0;
    std::array<int, 3> whitePoint{255, 255, 255}; // RGB scaled to white before saturation; 255s: none
    int threshold = 0;                            // the saturation threshold applied
    double candidateFraction = 0.0;               // of the mask above the threshold (after median and closing), before area filtering
    int otsuThreshold = 0;                        // Otsu's threshold of the (white-balanced) saturation
    double otsuFraction = 0.0;                    // of the mask whose median-blurred saturation is above it
};

// Where the tissue is on one slide: a coarse binary mask (255 tissue, 0 background; already
// filtered, i.e. filled regions minus their kept holes) and the same regions as polygons.
// Immutable; tissueFraction is answered from an integral image in constant time.
class TissueMap {
public:
    TissueMap() = default; // no slide: empty mask, every fraction 0
    // `mask` is maskWidth x maskHeight bytes, row-major; non-zero means tissue. Each mask pixel
    // covers (slideWidth / maskWidth) x (slideHeight / maskHeight) level-0 pixels.
    TissueMap(std::int64_t slideWidth, std::int64_t slideHeight, int maskWidth, int maskHeight, std::vector<std::uint8_t> mask,
              std::vector<TissueRegion> regions, int sourceLevel = 0);

    std::int64_t slideWidth() const { return m_slideWidth; } // level 0
    std::int64_t slideHeight() const { return m_slideHeight; }
    int maskWidth() const { return m_maskWidth; }
    int maskHeight() const { return m_maskHeight; }
    const std::vector<std::uint8_t> &mask() const { return m_mask; } // 0 or 255
    double downsampleX() const { return m_downsampleX; }             // level-0 pixels per mask pixel
    double downsampleY() const { return m_downsampleY; }
    int sourceLevel() const { return m_sourceLevel; }                      // pyramid level the mask was computed from
    const std::vector<TissueRegion> &regions() const { return m_regions; } // largest first
    bool isEmpty() const { return m_tissuePixels == 0; }
    const TissueDetectionStats &stats() const { return m_stats; } // set by TissueDetector
    void setStats(TissueDetectionStats stats) { m_stats = std::move(stats); }

    // Fraction (0..1) of the level-0 rectangle covered by tissue; parts outside the slide count
    // as background. Mask pixels cut by the rectangle count pro rata, so the answer is exact for
    // the mask as a piecewise-constant image. Empty rectangles give 0.
    double tissueFraction(double x, double y, double width, double height) const;
    double tissueFraction() const; // of the whole slide

private:
    // Tissue pixels in [0, u) x [0, v) for real u, v (mask coordinates): bilinear in the
    // integral image, which is exact for a mask that is constant on each pixel.
    double tissueBelow(double u, double v) const;

    std::int64_t m_slideWidth = 0;
    std::int64_t m_slideHeight = 0;
    int m_maskWidth = 0;
    int m_maskHeight = 0;
    double m_downsampleX = 1.0;
    double m_downsampleY = 1.0;
    int m_sourceLevel = 0;
    std::vector<std::uint8_t> m_mask;
    std::vector<TissueRegion> m_regions;
    std::vector<std::uint32_t> m_integral; // (maskWidth + 1) x (maskHeight + 1) tissue-pixel counts
    std::uint64_t m_tissuePixels = 0;
    TissueDetectionStats m_stats;
};

} // namespace icmil::slide
