// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/tissue/tissuemap.h"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace icmil::slide {

// A tissue map's mask as an 8-bit grey PNG (255 tissue, 0 background), maskWidth x maskHeight:
// one pixel per downsampleX x downsampleY level-0 pixels.
class TissueMaskPng {
public:
    // Throws SlideError when the map is empty or encoding fails.
    static std::vector<std::uint8_t> encode(const TissueMap &map);
    // Writes atomically (temporary file, fsync, rename). Throws SlideError
    // "Cannot write tissue mask '<path>': <cause>".
    static void write(const TissueMap &map, const std::filesystem::path &path);
};

} // namespace icmil::slide
