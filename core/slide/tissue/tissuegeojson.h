// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/tissue/tissuemap.h"

#include <filesystem>
#include <string>

namespace icmil::slide {

// A tissue map as a GeoJSON FeatureCollection that QuPath imports as annotations: one Polygon
// feature per region (outer ring, then its hole rings; rings closed), LEVEL-0 pixel coordinates,
// properties {"objectType":"annotation","classification":{"name":"Tissue","color":[...]},
// "area_px":...}. Numbers are written in the shortest form that reads back to the same double,
// independent of the locale.
class TissueGeoJson {
public:
    static std::string format(const TissueMap &map);
    // Writes atomically (temporary file, fsync, rename). Throws SlideError
    // "Cannot write tissue GeoJSON '<path>': <cause>".
    static void write(const TissueMap &map, const std::filesystem::path &path);
};

} // namespace icmil::slide
