// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/tissue/tissuemap.h"

#include "slide/slideerror.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace icmil::slide {

TissueMap::TissueMap(std::int64_t slideWidth, std::int64_t slideHeight, int maskWidth, int maskHeight, std::vector<std::uint8_t> mask,
                     std::vector<TissueRegion> regions, int sourceLevel)
    : m_slideWidth(slideWidth), m_slideHeight(slideHeight), m_maskWidth(maskWidth), m_maskHeight(maskHeight), m_sourceLevel(sourceLevel),
      m_mask(std::move(mask)), m_regions(std::move(regions))
{
    const std::string size = std::to_string(maskWidth) + "x" + std::to_string(maskHeight);
    if (slideWidth <= 0 || slideHeight <= 0 || maskWidth <= 0 || maskHeight <= 0)
        throw SlideError("Cannot make a tissue map: slide and mask sizes must be positive (mask " + size + ")");
    if (static_cast<std::int64_t>(maskWidth) * maskHeight > (std::int64_t{1} << 31))
        throw SlideError("Cannot make a tissue map: the " + size + " mask is larger than 2^31 pixels");
    if (m_mask.size() != static_cast<std::size_t>(maskWidth) * static_cast<std::size_t>(maskHeight))
        throw SlideError("Cannot make a tissue map: the mask holds " + std::to_string(m_mask.size()) + " bytes, not " + size);
    m_downsampleX = static_cast<double>(slideWidth) / maskWidth;
    m_downsampleY = static_cast<double>(slideHeight) / maskHeight;

    const std::size_t stride = static_cast<std::size_t>(maskWidth) + 1;
    m_integral.assign(stride * (static_cast<std::size_t>(maskHeight) + 1), 0u);
    for (int y = 0; y < maskHeight; ++y) {
        std::uint8_t *row = m_mask.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(maskWidth);
        const std::uint32_t *above = m_integral.data() + static_cast<std::size_t>(y) * stride;
        std::uint32_t *below = m_integral.data() + (static_cast<std::size_t>(y) + 1) * stride;
        std::uint32_t run = 0;
        for (int x = 0; x < maskWidth; ++x) {
            row[x] = row[x] != 0 ? 255 : 0;
            run += row[x] != 0 ? 1u : 0u;
            below[x + 1] = above[x + 1] + run;
        }
    }
    m_tissuePixels = m_integral.back();
}

double TissueMap::tissueBelow(double u, double v) const
{
    u = std::clamp(u, 0.0, static_cast<double>(m_maskWidth));
    v = std::clamp(v, 0.0, static_cast<double>(m_maskHeight));
    const int x0 = std::min(static_cast<int>(u), m_maskWidth - 1);
    const int y0 = std::min(static_cast<int>(v), m_maskHeight - 1);
    const double fx = u - x0;
    const double fy = v - y0;
    const std::size_t stride = static_cast<std::size_t>(m_maskWidth) + 1;
    const std::uint32_t *top = m_integral.data() + static_cast<std::size_t>(y0) * stride + static_cast<std::size_t>(x0);
    const std::uint32_t *bottom = top + stride;
    const double upper = top[0] + fx * (static_cast<double>(top[1]) - top[0]);
    const double lower = bottom[0] + fx * (static_cast<double>(bottom[1]) - bottom[0]);
    return upper + fy * (lower - upper);
}

double TissueMap::tissueFraction(double x, double y, double width, double height) const
{
    if (m_tissuePixels == 0 || !(width > 0.0) || !(height > 0.0))
        return 0.0;
    const double u0 = x / m_downsampleX;
    const double v0 = y / m_downsampleY;
    const double u1 = (x + width) / m_downsampleX;
    const double v1 = (y + height) / m_downsampleY;
    const double tissue = tissueBelow(u1, v1) - tissueBelow(u0, v1) - tissueBelow(u1, v0) + tissueBelow(u0, v0);
    return std::clamp(tissue / ((u1 - u0) * (v1 - v0)), 0.0, 1.0);
}

double TissueMap::tissueFraction() const
{
    if (m_mask.empty())
        return 0.0;
    return static_cast<double>(m_tissuePixels) / (static_cast<double>(m_maskWidth) * m_maskHeight);
}

} // namespace icmil::slide
