// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/tissue/tissuemap.h"

#include <cstdint>
#include <vector>

namespace icmil::slide {

// CLAM's _filter_contours on a binary tissue image: contours with a two-level hierarchy
// (RETR_CCOMP), regions kept when (outer area - all its holes' areas) > minTissueArea, then per
// region the maxHoles largest holes whose area > minHoleArea. Holes that are not kept count as
// tissue. Areas are OpenCV contour areas (polygon through the boundary pixel centres), as in
// CLAM, compared in level-0 pixels.
class TissueContourFilter {
public:
    struct Limits {
        double minTissueArea = 0.0; // level-0 pixels
        double minHoleArea = 0.0;   // level-0 pixels
        int maxHoles = 8;
    };

    struct Result {
        std::vector<std::uint8_t> mask;    // same size as the input: filled regions minus kept holes
        std::vector<TissueRegion> regions; // level-0 polygons, largest area first
    };

    // `binary` is width x height bytes, non-zero = tissue; each pixel covers downsampleX x
    // downsampleY level-0 pixels.
    static Result apply(const std::vector<std::uint8_t> &binary, int width, int height, double downsampleX, double downsampleY,
                        const Limits &limits);
};

} // namespace icmil::slide
