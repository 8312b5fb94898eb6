// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string>

#include <opencv2/core/mat.hpp>

namespace icmil::slide {

// Paints the associated images of a synthetic slide (RGB, 8 bits per channel): the paper label
// and the "macro" photograph of the whole glass slide.
class GlassSlidePainter {
public:
    // ~400 x 400 white label: the slide id as text and a barcode-like pattern drawn from the seed.
    static cv::Mat label(const std::string &slideId, std::uint64_t seed);
    // ~1200 x 400 grey-blue glass with the label at the left end and the thumbnail's tissue on it.
    static cv::Mat macro(const cv::Mat &thumbnail, const cv::Mat &label);
};

} // namespace icmil::slide
