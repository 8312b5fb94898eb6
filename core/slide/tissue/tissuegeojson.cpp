#include "slide/tissue/tissuegeojson.h"

#include "slide/io/partialfile.h"
#include "slide/slideerror.h"

#include <charconv>
#include <stdexcept>

namespace icmil::slide {

namespace {

void appendNumber(std::string &out, double value)
{
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
}

void appendRing(std::string &out, const TissueRing &ring)
{
    out += '[';
    for (std::size_t i = 0; i <= ring.size(); ++i) {
        const auto &[x, y] = ring[i % ring.size()]; // GeoJSON rings end where they start
        out += i == 0 ? "[" : ",[";
        appendNumber(out, x);
        out += ',';
        appendNumber(out, y);
        out += ']';
    }
    out += ']';
}

} // namespace

std::string TissueGeoJson::format(const TissueMap &map)
{
    std::string out = "{\"type\":\"FeatureCollection\",\"features\":[";
    bool first = true;
    for (const TissueRegion &region : map.regions()) {
        if (region.outer.empty())
            continue;
        out += first ? "\n" : ",\n";
        first = false;
        out += "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[";
        appendRing(out, region.outer);
        for (const TissueRing &hole : region.holes) {
            if (hole.empty())
                continue;
            out += ',';
            appendRing(out, hole);
        }
        out += "]},\"properties\":{\"objectType\":\"annotation\","
               "\"classification\":{\"name\":\"Tissue\",\"color\":[20,160,60]},\"area_px\":";
        appendNumber(out, region.areaPixels);
        out += "}}";
    }
    out += first ? "]}\n" : "\n]}\n";
    return out;
}

void TissueGeoJson::write(const TissueMap &map, const std::filesystem::path &path)
{
    try {
        PartialFile file(path);
        file.write(format(map));
        file.commit();
    } catch (const std::exception &error) {
        throw SlideError("Cannot write tissue GeoJSON '" + path.string() + "': " + error.what());
    }
}

} // namespace icmil::slide
