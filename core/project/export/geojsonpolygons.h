// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The polygons of a GeoJSON file (tissue contours from preprocessing, QuPath annotations): every
// Polygon and MultiPolygon geometry of a FeatureCollection, a Feature or a bare geometry, as
// rings of level-0 points (outer ring first, then holes). Other geometry types are skipped.
#include <array>
#include <filesystem>
#include <vector>

namespace icmil::project {

using Ring = std::vector<std::array<double, 2>>;
using PolygonRings = std::vector<Ring>;

// Throws ProjectError "Cannot read polygons from 'x': <cause>".
std::vector<PolygonRings> readGeoJsonPolygons(const std::filesystem::path &path);

} // namespace icmil::project
