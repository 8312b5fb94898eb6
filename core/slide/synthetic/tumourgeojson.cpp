#include "slide/synthetic/tumourgeojson.h"

#include <charconv>

namespace icmil::slide {

namespace {

void appendNumber(std::string &out, double value)
{
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
}

void appendPoint(std::string &out, const std::pair<double, double> &point)
{
    out += '[';
    appendNumber(out, point.first);
    out += ',';
    appendNumber(out, point.second);
    out += ']';
}

} // namespace

std::string TumourGeoJson::format(const std::vector<TumourRegion> &tumours)
{
    std::string out = "{\"type\":\"FeatureCollection\",\"features\":[";
    for (std::size_t t = 0; t < tumours.size(); ++t) {
        const TumourRegion &tumour = tumours[t];
        out += t == 0 ? "\n" : ",\n";
        out += "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[[";
        for (const auto &point : tumour.polygon) {
            appendPoint(out, point);
            out += ',';
        }
        if (!tumour.polygon.empty())
            appendPoint(out, tumour.polygon.front()); // GeoJSON rings end where they start
        out += "]]},\"properties\":{\"objectType\":\"annotation\",\"classification\":\"tumor\",\"area_px\":";
        appendNumber(out, tumour.areaPixels);
        out += "}}";
    }
    out += tumours.empty() ? "]}\n" : "\n]}\n";
    return out;
}

} // namespace icmil::slide
