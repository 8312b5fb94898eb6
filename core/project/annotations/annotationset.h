// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Pathologists' annotations of one slide, as QuPath exports them (GeoJSON) or ASAP writes them
// (XML; Camelyon16's tumour annotations), in level-0 pixels, with their class names and colours.
//
// QuPath GeoJSON: a FeatureCollection, an array of Features, or one Feature; Polygon and
// MultiPolygon geometries with holes; properties.classification {name, color [r, g, b] or
// colorRGB (a packed integer)}; properties.objectType "annotation" (the default) or
// "detection" (cells, tiles: kept, marked detection); properties.name. Other geometry types
// (points, lines) are refused with the feature's index, since a patch cannot lie inside them.
// Coordinates are the image's as QuPath shows it: for a slide whose OpenSlide bounds crop it
// (MIRAX, some NDPI), origin at the bounds' corner, so `offset` (the slide's bounds-x, bounds-y)
// is added to every point.
//
// ASAP XML: <ASAP_Annotations><Annotations><Annotation Name Type PartOfGroup Color><Coordinates>
// <Coordinate Order X Y/>...; Type Polygon, Rectangle or Spline (its control points, as a
// polygon); other types (Dot, PointSet) are refused with the annotation's name. The class is
// PartOfGroup; Camelyon16's groups "_0" and "_1" are tumour ("Tumor") and "_2" marks regions
// inside tumour that are not tumour ("Exclusion", kind Exclusion); a group's colour from
// <AnnotationGroups> when the annotation has none. ASAP coordinates are level-0 pixels.
//
// Every point must lie within the slide (a tolerance of one pixel), else the file is refused:
// coordinates outside it mean the annotations belong to another slide or another scale.

#include "project/export/geojsonpolygons.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

struct Annotation {
    enum class Kind { Annotation, Detection, Exclusion };
    std::string className; // "" when unclassified
    std::string name;
    std::optional<std::array<int, 3>> colour; // RGB
    Kind kind = Kind::Annotation;
    std::vector<PolygonRings> polygons; // each: outer ring, then holes; level-0 pixels
};

struct AnnotationSet {
    std::string source; // "qupath-geojson", "asap-xml" or "icmil-geojson"
    std::vector<Annotation> annotations;

    std::vector<std::string> classNames() const; // sorted, unique, without ""
    std::size_t polygonCount() const;
};

// The slide's level-0 size, to check coordinates; an offset added to QuPath's coordinates.
struct AnnotationFrame {
    std::int64_t width = 0;
    std::int64_t height = 0;
    std::array<double, 2> offset{0.0, 0.0};
};

// Each throws ProjectError "Cannot read annotations from 'x': <cause>" with one cause: not JSON
// / not XML (with the parser's position), no annotations, an unsupported geometry (and which), a
// point outside the slide (which annotation, which point, the slide's size).
AnnotationSet readQuPathGeoJson(const std::filesystem::path &path, const AnnotationFrame &frame);
AnnotationSet readAsapXml(const std::filesystem::path &path, const AnnotationFrame &frame);
// By extension: .geojson / .json -> QuPath, .xml -> ASAP.
AnnotationSet readAnnotationFile(const std::filesystem::path &path, const AnnotationFrame &frame);

// The project's copy (PROJECT/annotations/<slide>.geojson): QuPath-compatible GeoJSON (a
// FeatureCollection, objectType, classification {name, color}), level-0 coordinates, an
// Exclusion's kind in properties.icmil_kind. Written atomically; read back with readProjectAnnotations.
// `offset` is subtracted from every point: a file for QuPath of a slide cropped to its bounds
// (qupathoffset.h) has QuPath's coordinates; the project's copy has none.
void writeProjectAnnotations(const std::filesystem::path &path, const AnnotationSet &set, const std::array<double, 2> &offset = {0.0, 0.0});
AnnotationSet readProjectAnnotations(const std::filesystem::path &path);

// Even-odd point-in-polygon over all rings of one polygon (holes cut out).
bool polygonContains(const PolygonRings &polygon, double x, double y);

} // namespace icmil::project
