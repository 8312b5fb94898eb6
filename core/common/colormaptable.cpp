// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/colormaptable.h"

#include "common/asciicase.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace icmil {

namespace {

struct Anchor {
    double r, g, b; // 0..255
};

ColormapTable::Rgb opaque(double r, double g, double b)
{
    const auto channel = [](double v) { return static_cast<std::uint8_t>(std::lround(std::clamp(v, 0.0, 255.0))); };
    return {channel(r), channel(g), channel(b)};
}

// Evenly spaced anchors, linear interpolation between neighbours.
ColormapTable fromAnchors(std::string name, const std::vector<Anchor> &anchors)
{
    ColormapTable table{std::move(name), {}};
    const double segments = static_cast<double>(anchors.size() - 1);
    for (int i = 0; i < ColormapTable::kSize; ++i) {
        const double position = i / double(ColormapTable::kSize - 1) * segments;
        const auto lower = std::min(static_cast<std::size_t>(position), anchors.size() - 2);
        const double f = position - static_cast<double>(lower);
        const Anchor &a = anchors[lower];
        const Anchor &b = anchors[lower + 1];
        table.rgb[static_cast<std::size_t>(i)] = opaque(a.r + (b.r - a.r) * f, a.g + (b.g - a.g) * f, a.b + (b.b - a.b) * f);
    }
    return table;
}

// Viridis (van der Walt & Smith, matplotlib 2.0's default) at t = 0, 0.1, ..., 1.
ColormapTable viridis()
{
    return fromAnchors("viridis",
                       {{68, 1, 84},
                        {72, 36, 117},
                        {65, 68, 135},
                        {53, 95, 141},
                        {42, 120, 142},
                        {33, 145, 140},
                        {34, 168, 132},
                        {68, 191, 112},
                        {122, 209, 81},
                        {189, 223, 38},
                        {253, 231, 37}});
}

// Turbo (Mikhailov, Google AI 2019): the published degree-5 polynomial fit of each channel.
ColormapTable turbo()
{
    ColormapTable table{"turbo", {}};
    const auto poly
        = [](const std::array<double, 6> &c, double x) { return c[0] + x * (c[1] + x * (c[2] + x * (c[3] + x * (c[4] + x * c[5])))); };
    constexpr std::array<double, 6> red{0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943};
    constexpr std::array<double, 6> green{0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604};
    constexpr std::array<double, 6> blue{0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973};
    for (int i = 0; i < ColormapTable::kSize; ++i) {
        const double x = i / double(ColormapTable::kSize - 1);
        table.rgb[static_cast<std::size_t>(i)] = opaque(255.0 * poly(red, x), 255.0 * poly(green, x), 255.0 * poly(blue, x));
    }
    return table;
}

// Jet (MATLAB): each channel a trapezoid, dark blue -> blue -> cyan -> yellow -> red -> dark red.
ColormapTable jet()
{
    ColormapTable table{"jet", {}};
    const auto ramp = [](double x, double centre) { return std::clamp(1.5 - std::abs(4.0 * x - centre), 0.0, 1.0); };
    for (int i = 0; i < ColormapTable::kSize; ++i) {
        const double x = i / double(ColormapTable::kSize - 1);
        table.rgb[static_cast<std::size_t>(i)] = opaque(255.0 * ramp(x, 3.0), 255.0 * ramp(x, 2.0), 255.0 * ramp(x, 1.0));
    }
    return table;
}

// Cool-warm (Moreland, "Diverging Color Maps for Scientific Visualization", 2009): his table
// at t = 0, 1/8, ..., 1, from blue through light grey to red.
ColormapTable coolwarm()
{
    return fromAnchors("coolwarm",
                       {{59, 76, 192},
                        {98, 130, 234},
                        {141, 176, 254},
                        {184, 208, 249},
                        {221, 221, 221},
                        {245, 196, 173},
                        {244, 154, 123},
                        {222, 96, 77},
                        {180, 4, 38}});
}

} // namespace

int ColormapTable::indexOf(double t)
{
    if (!(t > 0.0)) // NaN too
        return 0;
    return static_cast<int>(std::lround(std::min(t, 1.0) * (kSize - 1)));
}

const std::vector<ColormapTable> &colormapTables()
{
    static const std::vector<ColormapTable> all{viridis(), turbo(), jet(), coolwarm()};
    return all;
}

std::vector<std::string> colormapNames()
{
    std::vector<std::string> names;
    for (const ColormapTable &table : colormapTables())
        names.push_back(table.name);
    return names;
}

const ColormapTable *findColormapTable(std::string_view name)
{
    const std::string lower = asciiLower(std::string(name));
    for (const ColormapTable &table : colormapTables())
        if (table.name == lower)
            return &table;
    return nullptr;
}

const ColormapTable &colormapTable(std::string_view name)
{
    if (const ColormapTable *table = findColormapTable(name))
        return *table;
    std::string known;
    for (const std::string &each : colormapNames())
        known += (known.empty() ? "" : ", ") + each;
    throw std::invalid_argument("Unknown colormap '" + std::string(name) + "' (known: " + known + ")");
}

} // namespace icmil
