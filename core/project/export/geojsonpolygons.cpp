// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/export/geojsonpolygons.h"

#include "project/jsonnesting.h"
#include "project/projecterror.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace icmil::project {

namespace {

using nlohmann::json;

Ring ringOf(const json &points)
{
    Ring ring;
    ring.reserve(points.size());
    for (const json &point : points) {
        if (!point.is_array() || point.size() < 2)
            throw ProjectError("a position is not [x, y]");
        ring.push_back({point.at(0).get<double>(), point.at(1).get<double>()});
    }
    return ring;
}

PolygonRings polygonOf(const json &rings)
{
    PolygonRings polygon;
    for (const json &ring : rings)
        polygon.push_back(ringOf(ring));
    return polygon;
}

void collect(const json &node, std::vector<PolygonRings> &out)
{
    if (!node.is_object())
        return;
    const std::string type = node.value("type", std::string());
    if (type == "FeatureCollection") {
        for (const json &feature : node.at("features"))
            collect(feature, out);
    } else if (type == "Feature") {
        if (node.contains("geometry") && !node["geometry"].is_null())
            collect(node["geometry"], out);
    } else if (type == "GeometryCollection") {
        for (const json &geometry : node.at("geometries"))
            collect(geometry, out);
    } else if (type == "Polygon") {
        out.push_back(polygonOf(node.at("coordinates")));
    } else if (type == "MultiPolygon") {
        for (const json &polygon : node.at("coordinates"))
            out.push_back(polygonOf(polygon));
    }
}

} // namespace

std::vector<PolygonRings> readGeoJsonPolygons(const std::filesystem::path &path)
{
    const std::string prefix = "Cannot read polygons from '" + path.string() + "': ";
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ProjectError(prefix + "no such file");
    try {
        std::vector<PolygonRings> polygons;
        collect(json::parse(in, jsonNestingLimit()), polygons);
        return polygons;
    } catch (const json::exception &e) {
        throw ProjectError(prefix + e.what());
    } catch (const ProjectError &e) {
        throw ProjectError(prefix + e.what());
    }
}

} // namespace icmil::project
