// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/synthetic/syntheticslidewriter.h"

#include <string>
#include <vector>

namespace icmil::slide {

// Formats tumour regions as a GeoJSON FeatureCollection: one Polygon feature per region, level-0
// pixel coordinates, ring closed, properties {"classification":"tumor","area_px":...}. Numbers are
// written in the shortest form that reads back to the same double, independent of the locale.
class TumourGeoJson {
public:
    static std::string format(const std::vector<TumourRegion> &tumours);
};

} // namespace icmil::slide
