// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <vector>

namespace icmil::slide {

// Pixels handed out by every SlideSource: 8-bit RGBA, row-major, stride width*4,
// NOT premultiplied (OpenSlide's premultiplied ARGB is converted at the core edge).
struct RgbaImage {
    int width = 0;
    int height = 0;
    std::vector<std::uint8_t> pixels;

    RgbaImage() = default;
    RgbaImage(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 4u, 0) { }

    bool isNull() const { return width <= 0 || height <= 0; }
    std::uint8_t *scanLine(int y) { return pixels.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(width) * 4u; }
    const std::uint8_t *scanLine(int y) const { return pixels.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(width) * 4u; }
    const std::uint8_t *pixel(int x, int y) const { return scanLine(y) + static_cast<std::size_t>(x) * 4u; }
};

} // namespace icmil::slide
