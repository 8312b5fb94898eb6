// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/annotations/annotationset.h"
#include "project/jsonvalue.h"

#include "common/asciicase.h"
#include "project/atomicfile.h"
#include "project/jsonnesting.h"
#include "project/projecterror.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

namespace icmil::project {

namespace {

using nlohmann::json;

std::string number(double value)
{
    std::ostringstream out;
    out << value;
    return out.str();
}

// Every point within the slide (one pixel of slack for outlines drawn on its edge).
void checkInside(const Annotation &annotation, std::size_t index, const AnnotationFrame &frame)
{
    if (frame.width <= 0 || frame.height <= 0)
        return;
    for (const PolygonRings &polygon : annotation.polygons)
        for (const Ring &ring : polygon)
            for (const auto &[x, y] : ring)
                if (!(x >= -1.0 && y >= -1.0 && x <= static_cast<double>(frame.width) + 1.0
                      && y <= static_cast<double>(frame.height) + 1.0))
                    throw ProjectError("annotation " + std::to_string(index + 1)
                                       + (annotation.name.empty() ? "" : " ('" + annotation.name + "')") + " has the point (" + number(x)
                                       + ", " + number(y) + "), outside the slide's " + std::to_string(frame.width) + " x "
                                       + std::to_string(frame.height) + " pixels: are these annotations of another slide?");
}

Ring ringOf(const json &points, const AnnotationFrame &frame)
{
    if (!points.is_array())
        throw ProjectError("a ring is not an array of positions");
    Ring ring;
    ring.reserve(points.size());
    for (const json &point : points) {
        if (!point.is_array() || point.size() < 2 || !point[0].is_number() || !point[1].is_number())
            throw ProjectError("a position is not [x, y]");
        ring.push_back({point[0].get<double>() + frame.offset[0], point[1].get<double>() + frame.offset[1]});
    }
    if (ring.size() > 1 && ring.front() == ring.back())
        ring.pop_back(); // GeoJSON closes rings; ours are open
    if (ring.size() < 3)
        throw ProjectError("a ring has fewer than 3 distinct positions");
    return ring;
}

PolygonRings polygonOf(const json &rings, const AnnotationFrame &frame)
{
    if (!rings.is_array() || rings.empty())
        throw ProjectError("a polygon has no rings");
    PolygonRings polygon;
    for (const json &ring : rings)
        polygon.push_back(ringOf(ring, frame));
    return polygon;
}

std::optional<std::array<int, 3>> colourOf(const json &classification)
{
    if (classification.contains("color") && classification["color"].is_array() && classification["color"].size() >= 3) {
        const json &c = classification["color"];
        return std::array<int, 3>{std::clamp(jsonGet<int>(c[0]), 0, 255), std::clamp(jsonGet<int>(c[1]), 0, 255),
                                  std::clamp(jsonGet<int>(c[2]), 0, 255)};
    }
    if (classification.contains("colorRGB") && classification["colorRGB"].is_number_integer()) {
        const auto packed = static_cast<std::uint32_t>(jsonGet<std::int64_t>(classification["colorRGB"]));
        return std::array<int, 3>{static_cast<int>((packed >> 16) & 0xff), static_cast<int>((packed >> 8) & 0xff),
                                  static_cast<int>(packed & 0xff)};
    }
    return std::nullopt;
}

void addFeature(const json &feature, std::size_t index, const AnnotationFrame &frame, AnnotationSet &set)
{
    if (!feature.is_object() || feature.value("type", std::string()) != "Feature")
        throw ProjectError("item " + std::to_string(index + 1) + " is not a GeoJSON Feature");
    Annotation annotation;
    const json properties = feature.contains("properties") && feature["properties"].is_object() ? feature["properties"] : json::object();
    if (properties.contains("name") && properties["name"].is_string())
        annotation.name = properties["name"].get<std::string>();
    if (properties.contains("classification") && properties["classification"].is_object()) {
        const json &classification = properties["classification"];
        if (classification.contains("name") && classification["name"].is_string())
            annotation.className = classification["name"].get<std::string>();
        annotation.colour = colourOf(classification);
    }
    const std::string objectType = asciiLower(properties.value("objectType", std::string("annotation")));
    if (objectType == "detection" || objectType == "cell" || objectType == "tile")
        annotation.kind = Annotation::Kind::Detection;
    if (properties.value("icmil_kind", std::string()) == "exclusion")
        annotation.kind = Annotation::Kind::Exclusion;
    if (!feature.contains("geometry") || !feature["geometry"].is_object())
        throw ProjectError("feature " + std::to_string(index + 1) + " has no geometry");
    const json &geometry = feature["geometry"];
    const std::string type = geometry.value("type", std::string());
    if (type == "Polygon")
        annotation.polygons.push_back(polygonOf(geometry.at("coordinates"), frame));
    else if (type == "MultiPolygon")
        for (const json &polygon : geometry.at("coordinates"))
            annotation.polygons.push_back(polygonOf(polygon, frame));
    else
        throw ProjectError("feature " + std::to_string(index + 1) + (annotation.name.empty() ? "" : " ('" + annotation.name + "')")
                           + " is a " + (type.empty() ? std::string("geometry without a type") : type)
                           + "; only Polygon and MultiPolygon annotations bound patches");
    checkInside(annotation, set.annotations.size(), frame);
    set.annotations.push_back(std::move(annotation));
}

AnnotationSet parseGeoJson(const std::filesystem::path &path, const AnnotationFrame &frame, const char *source)
{
    const std::string prefix = "Cannot read annotations from '" + path.string() + "': ";
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ProjectError(prefix + "no such file");
    try {
        const json root = json::parse(in, jsonNestingLimit());
        AnnotationSet set;
        set.source = source;
        if (root.is_array()) {
            for (std::size_t i = 0; i < root.size(); ++i)
                addFeature(root[i], i, frame, set);
        } else if (root.is_object() && root.value("type", std::string()) == "FeatureCollection") {
            const json &features = root.at("features");
            if (!features.is_array())
                throw ProjectError("its features are not an array");
            for (std::size_t i = 0; i < features.size(); ++i)
                addFeature(features[i], i, frame, set);
        } else if (root.is_object() && root.value("type", std::string()) == "Feature") {
            addFeature(root, 0, frame, set);
        } else {
            throw ProjectError("not a GeoJSON FeatureCollection, Feature or array of Features");
        }
        return set;
    } catch (const json::exception &e) {
        throw ProjectError(prefix + e.what());
    } catch (const ProjectError &e) {
        throw ProjectError(prefix + e.what());
    }
}

// --- ASAP XML (libxml2: no network, no entity expansion, no DTD loading)

std::string attribute(xmlNode *node, const char *name)
{
    xmlChar *value = xmlGetProp(node, reinterpret_cast<const xmlChar *>(name));
    if (value == nullptr)
        return {};
    std::string text(reinterpret_cast<const char *>(value));
    xmlFree(value);
    return text;
}

bool named(xmlNode *node, const char *name)
{
    return node->type == XML_ELEMENT_NODE && xmlStrcmp(node->name, reinterpret_cast<const xmlChar *>(name)) == 0;
}

std::optional<std::array<int, 3>> hexColour(const std::string &text)
{
    if (text.size() != 7 || text[0] != '#')
        return std::nullopt;
    std::array<int, 3> rgb{};
    for (int c = 0; c < 3; ++c) {
        try {
            std::size_t used = 0;
            rgb[static_cast<std::size_t>(c)] = std::stoi(text.substr(1 + 2 * static_cast<std::size_t>(c), 2), &used, 16);
            if (used != 2)
                return std::nullopt;
        } catch (const std::exception &) {
            return std::nullopt;
        }
    }
    return rgb;
}

double coordinate(const std::string &text, const std::string &what)
{
    // ASAP writes a decimal point; some exports a decimal comma.
    std::string value = text;
    std::replace(value.begin(), value.end(), ',', '.');
    std::size_t used = 0;
    double number = 0.0;
    try {
        number = std::stod(value, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (used == 0 || used != value.size() || !std::isfinite(number))
        throw ProjectError(what + " is not a number ('" + text + "')");
    return number;
}

} // namespace

std::vector<std::string> AnnotationSet::classNames() const
{
    std::set<std::string> names;
    for (const Annotation &a : annotations)
        if (!a.className.empty())
            names.insert(a.className);
    return {names.begin(), names.end()};
}

std::size_t AnnotationSet::polygonCount() const
{
    std::size_t count = 0;
    for (const Annotation &a : annotations)
        count += a.polygons.size();
    return count;
}

AnnotationSet readQuPathGeoJson(const std::filesystem::path &path, const AnnotationFrame &frame)
{
    return parseGeoJson(path, frame, "qupath-geojson");
}

AnnotationSet readAsapXml(const std::filesystem::path &path, const AnnotationFrame &frame)
{
    const std::string prefix = "Cannot read annotations from '" + path.string() + "': ";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw ProjectError(prefix + "no such file");
    xmlResetLastError();
    const std::unique_ptr<xmlDoc, decltype(&xmlFreeDoc)> document(
        xmlReadFile(path.c_str(), nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING), &xmlFreeDoc);
    if (!document) {
        const xmlError *error = xmlGetLastError();
        std::string cause = error && error->message ? error->message : "not XML";
        while (!cause.empty() && (cause.back() == '\n' || cause.back() == ' '))
            cause.pop_back();
        throw ProjectError(prefix + "not valid XML (line " + std::to_string(error ? error->line : 0) + ": " + cause + ")");
    }
    xmlNode *root = xmlDocGetRootElement(document.get());
    if (root == nullptr || !named(root, "ASAP_Annotations"))
        throw ProjectError(prefix + "not an ASAP annotation file (its root element is not ASAP_Annotations)");
    try {
        std::map<std::string, std::optional<std::array<int, 3>>> groupColours;
        for (xmlNode *section = root->children; section; section = section->next)
            if (named(section, "AnnotationGroups"))
                for (xmlNode *group = section->children; group; group = group->next)
                    if (named(group, "Group"))
                        groupColours[attribute(group, "Name")] = hexColour(attribute(group, "Color"));

        AnnotationSet set;
        set.source = "asap-xml";
        for (xmlNode *section = root->children; section; section = section->next) {
            if (!named(section, "Annotations"))
                continue;
            for (xmlNode *node = section->children; node; node = node->next) {
                if (!named(node, "Annotation"))
                    continue;
                Annotation annotation;
                annotation.name = attribute(node, "Name");
                const std::string group = attribute(node, "PartOfGroup");
                const std::string type = attribute(node, "Type");
                const std::string label = "annotation " + std::to_string(set.annotations.size() + 1)
                    + (annotation.name.empty() ? "" : " ('" + annotation.name + "')");
                if (type != "Polygon" && type != "Rectangle" && type != "Spline")
                    throw ProjectError(label + " is a " + (type.empty() ? std::string("shape without a Type") : type)
                                       + "; only Polygon, Rectangle and Spline annotations bound patches");
                // Camelyon16: _0 and _1 are tumour, _2 is not-tumour inside tumour.
                if (group == "_0" || group == "_1") {
                    annotation.className = "Tumor";
                } else if (group == "_2") {
                    annotation.className = "Exclusion";
                    annotation.kind = Annotation::Kind::Exclusion;
                } else if (group != "None") {
                    annotation.className = group;
                }
                annotation.colour = hexColour(attribute(node, "Color"));
                if (!annotation.colour)
                    if (const auto found = groupColours.find(group); found != groupColours.end())
                        annotation.colour = found->second;
                std::vector<std::pair<long, std::array<double, 2>>> points;
                for (xmlNode *coordinates = node->children; coordinates; coordinates = coordinates->next) {
                    if (!named(coordinates, "Coordinates"))
                        continue;
                    for (xmlNode *point = coordinates->children; point; point = point->next) {
                        if (!named(point, "Coordinate"))
                            continue;
                        const std::string order = attribute(point, "Order");
                        const long index
                            = order.empty() ? static_cast<long>(points.size()) : static_cast<long>(coordinate(order, label + "'s Order"));
                        points.push_back(
                            {index,
                             {coordinate(attribute(point, "X"), label + "'s X"), coordinate(attribute(point, "Y"), label + "'s Y")}});
                    }
                }
                std::stable_sort(points.begin(), points.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
                Ring ring;
                for (const auto &point : points)
                    ring.push_back(point.second);
                if (ring.size() > 1 && ring.front() == ring.back())
                    ring.pop_back();
                if (ring.size() < 3)
                    throw ProjectError(label + " has " + std::to_string(ring.size()) + " points; a polygon needs 3");
                annotation.polygons.push_back({std::move(ring)});
                checkInside(annotation, set.annotations.size(), frame);
                set.annotations.push_back(std::move(annotation));
            }
        }
        return set;
    } catch (const ProjectError &e) {
        throw ProjectError(prefix + e.what());
    }
}

AnnotationSet readAnnotationFile(const std::filesystem::path &path, const AnnotationFrame &frame)
{
    const std::string extension = asciiLower(path.extension().string());
    if (extension == ".xml")
        return readAsapXml(path, frame);
    if (extension == ".geojson" || extension == ".json")
        return readQuPathGeoJson(path, frame);
    throw ProjectError("Cannot read annotations from '" + path.string() + "': not a .geojson, .json (QuPath) or .xml (ASAP) file");
}

void writeProjectAnnotations(const std::filesystem::path &path, const AnnotationSet &set, const std::array<double, 2> &offset)
{
    json features = json::array();
    for (const Annotation &a : set.annotations) {
        json properties = {{"objectType", a.kind == Annotation::Kind::Detection ? "detection" : "annotation"}};
        if (!a.name.empty())
            properties["name"] = a.name;
        if (!a.className.empty()) {
            json classification = {{"name", a.className}};
            if (a.colour)
                classification["color"] = {(*a.colour)[0], (*a.colour)[1], (*a.colour)[2]};
            properties["classification"] = classification;
        }
        if (a.kind == Annotation::Kind::Exclusion)
            properties["icmil_kind"] = "exclusion";
        auto rings = [&offset](const PolygonRings &polygon) {
            json out = json::array();
            for (const Ring &ring : polygon) {
                json points = json::array();
                for (const auto &[x, y] : ring)
                    points.push_back({x - offset[0], y - offset[1]});
                if (!ring.empty())
                    points.push_back({ring.front()[0] - offset[0], ring.front()[1] - offset[1]}); // GeoJSON rings are closed
                out.push_back(points);
            }
            return out;
        };
        json geometry;
        if (a.polygons.size() == 1) {
            geometry = {{"type", "Polygon"}, {"coordinates", rings(a.polygons.front())}};
        } else {
            json polygons = json::array();
            for (const PolygonRings &polygon : a.polygons)
                polygons.push_back(rings(polygon));
            geometry = {{"type", "MultiPolygon"}, {"coordinates", polygons}};
        }
        features.push_back({{"type", "Feature"}, {"geometry", geometry}, {"properties", properties}});
    }
    const json root = {{"type", "FeatureCollection"}, {"features", features}};
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    writeFileAtomically(path, root.dump() + "\n");
}

AnnotationSet readProjectAnnotations(const std::filesystem::path &path)
{
    return parseGeoJson(path, AnnotationFrame{}, "icmil-geojson");
}

bool polygonContains(const PolygonRings &polygon, double x, double y)
{
    bool inside = false;
    for (const Ring &ring : polygon) {
        const std::size_t n = ring.size();
        for (std::size_t i = 0, j = n - 1; i < n; j = i++) {
            const double xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
            if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
                inside = !inside;
        }
    }
    return inside;
}

} // namespace icmil::project
