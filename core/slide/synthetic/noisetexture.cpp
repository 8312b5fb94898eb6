// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/noisetexture.h"

#include "slide/synthetic/seededrandom.h"

#include <algorithm>

namespace icmil::slide {

namespace {

float smoothstep(float t)
{
    return t * t * (3.0f - 2.0f * t);
}

// One octave of tileable value noise: random values on a lattice, smoothly interpolated.
void addOctave(std::vector<float> &values, int width, int height, int spacing, float amplitude, std::uint64_t seed)
{
    const int columns = width / spacing;
    const int rows = height / spacing;
    std::vector<float> lattice(static_cast<std::size_t>(columns) * rows);
    SeededRandom random(seed);
    for (float &value : lattice)
        value = static_cast<float>(random.uniform());
    auto latticeAt = [&](int i, int j) { return lattice[static_cast<std::size_t>((j % rows) * columns + (i % columns))]; };
    for (int y = 0; y < height; ++y) {
        const int j = y / spacing;
        const float fy = smoothstep(static_cast<float>(y % spacing) / static_cast<float>(spacing));
        for (int x = 0; x < width; ++x) {
            const int i = x / spacing;
            const float fx = smoothstep(static_cast<float>(x % spacing) / static_cast<float>(spacing));
            const float top = latticeAt(i, j) + (latticeAt(i + 1, j) - latticeAt(i, j)) * fx;
            const float bottom = latticeAt(i, j + 1) + (latticeAt(i + 1, j + 1) - latticeAt(i, j + 1)) * fx;
            values[static_cast<std::size_t>(y) * width + x] += amplitude * (top + (bottom - top) * fy);
        }
    }
}

} // namespace

NoiseTexture::NoiseTexture(std::uint64_t seed, int width, int height, int latticeSpacing)
    : m_width(width), m_height(height), m_maskX(width - 1), m_maskY(height - 1), m_values(static_cast<std::size_t>(width) * height, 0.0f)
{
    addOctave(m_values, width, height, latticeSpacing, 1.0f, SeededRandom::hash(seed, 1));
    if (latticeSpacing >= 4)
        addOctave(m_values, width, height, latticeSpacing / 2, 0.5f, SeededRandom::hash(seed, 2));
    const auto [low, high] = std::minmax_element(m_values.begin(), m_values.end());
    const float offset = *low;
    const float scale = *high > *low ? 1.0f / (*high - *low) : 0.0f;
    for (float &value : m_values)
        value = (value - offset) * scale;
}

} // namespace icmil::slide
