// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace icmil {

// The colours scores in [0, 1] are drawn with, the same in the app's viewer and in exported
// heatmaps: 256-entry RGB tables of viridis (perceptually uniform, the default), turbo (rainbow
// without jet's bands), jet (for comparison with older papers) and coolwarm (Moreland's
// diverging map, light grey in the middle). Built once per process; standard C++ only.
struct ColormapTable {
    static constexpr int kSize = 256;
    using Rgb = std::array<std::uint8_t, 3>;

    std::string name; // lower case
    std::array<Rgb, kSize> rgb{};

    // The entry for t clamped to [0, 1] (NaN counts as 0): round(t * 255).
    static int indexOf(double t);
    const Rgb &at(double t) const { return rgb[static_cast<std::size_t>(indexOf(t))]; }
};

// viridis, turbo, jet, coolwarm, in that order.
const std::vector<ColormapTable> &colormapTables();
std::vector<std::string> colormapNames();
// The table of that name, compared without case; nullptr for an unknown name.
const ColormapTable *findColormapTable(std::string_view name);
// Throws std::invalid_argument "Unknown colormap 'x' (known: viridis, turbo, jet, coolwarm)".
const ColormapTable &colormapTable(std::string_view name);

} // namespace icmil
