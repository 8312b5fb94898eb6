// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/tissue/tissuemap.h"

#include <cstdint>
#include <vector>

namespace icmil::slide {

struct TissueDetectionParams;

// CLAM's _filter_contours on a binary tissue image: contours with a two-level hierarchy
// (RETR_CCOMP), regions kept when (outer area - all its holes' areas) > a_t reference patches,
// then per region the max_n_holes largest holes whose area > a_h reference patches. Holes that
// are not kept count as tissue. Areas are OpenCV contour areas (polygon through the boundary
// pixel centres), as in CLAM.
class TissueContourFilter {
public:
    struct Result {
        std::vector<std::uint8_t> mask;    // same size as the input: filled regions minus kept holes
        std::vector<TissueRegion> regions; // level-0 polygons, largest area first
    };

    // `binary` is width x height bytes, non-zero = tissue; each pixel covers downsampleX x
    // downsampleY level-0 pixels.
    static Result apply(const std::vector<std::uint8_t> &binary, int width, int height, double downsampleX, double downsampleY,
                        const TissueDetectionParams &params);

    // CLAM's scaled_ref_patch_area: int(ref^2 / (downsampleX * downsampleY)) mask pixels.
    static double referencePatchArea(int referencePatchSize, double downsampleX, double downsampleY);
};

} // namespace icmil::slide
