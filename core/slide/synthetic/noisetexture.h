// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <vector>

namespace icmil::slide {

// A tileable value-noise texture (values 0..1) computed once from a seed, so that per-pixel
// texture costs a few table look-ups instead of noise evaluation. Width and height are powers of
// two and may differ (a long axis keeps a stretched pattern from repeating visibly).
class NoiseTexture {
public:
    // `latticeSpacing` (texels between random lattice values) must divide both sides. Two octaves
    // are summed: spacing and spacing / 2.
    NoiseTexture(std::uint64_t seed, int width, int height, int latticeSpacing);

    int width() const { return m_width; }
    int height() const { return m_height; }

    // Nearest texel, wrapping in both directions.
    float at(std::int64_t x, std::int64_t y) const { return m_values[static_cast<std::size_t>((y & m_maskY) * m_width + (x & m_maskX))]; }
    // Bilinear sample at texel coordinates u, v >= 0, wrapping: the per-pixel fast path.
    float samplePositive(float u, float v) const
    {
        const auto iu = static_cast<std::int64_t>(u);
        const auto iv = static_cast<std::int64_t>(v);
        const float tu = u - static_cast<float>(iu);
        const float tv = v - static_cast<float>(iv);
        const float *row0 = &m_values[static_cast<std::size_t>((iv & m_maskY) * m_width)];
        const float *row1 = &m_values[static_cast<std::size_t>(((iv + 1) & m_maskY) * m_width)];
        const std::int64_t c0 = iu & m_maskX;
        const std::int64_t c1 = (iu + 1) & m_maskX;
        const float top = row0[c0] + (row0[c1] - row0[c0]) * tu;
        const float bottom = row1[c0] + (row1[c1] - row1[c0]) * tu;
        return top + (bottom - top) * tv;
    }

private:
    int m_width;
    int m_height;
    std::int64_t m_maskX;
    std::int64_t m_maskY;
    std::vector<float> m_values;
};

} // namespace icmil::slide
