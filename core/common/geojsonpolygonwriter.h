// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace icmil {

// The one writer of GeoJSON polygons (tissue contours, synthetic tumour outlines): a
// FeatureCollection with one Polygon feature per add(), in the form QuPath imports as annotations.
// Rings are closed on output (a GeoJSON ring ends where it starts); numbers are the shortest text
// that reads back to the same double, whatever the locale. One feature per line.
class GeoJsonPolygonWriter {
public:
    using Point = std::pair<double, double>;
    using Ring = std::vector<Point>;

    // A Polygon feature: `rings` is the outer ring then its holes (empty rings are skipped; a
    // polygon whose outer ring is empty is not written); `properties` is the text of a JSON object.
    void add(const std::vector<const Ring *> &rings, std::string_view properties);
    // The whole FeatureCollection, ending with a newline.
    std::string text() const;

private:
    std::string m_features;
};

} // namespace icmil
