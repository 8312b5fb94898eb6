// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/geojsonpolygonwriter.h"

#include "common/numberformat.h"

namespace icmil {

namespace {

void appendRing(std::string &out, const GeoJsonPolygonWriter::Ring &ring)
{
    out += '[';
    for (std::size_t i = 0; i <= ring.size(); ++i) {
        const auto &[x, y] = ring[i % ring.size()];
        out += i == 0 ? "[" : ",[";
        appendShortest(out, x);
        out += ',';
        appendShortest(out, y);
        out += ']';
    }
    out += ']';
}

} // namespace

void GeoJsonPolygonWriter::add(const std::vector<const Ring *> &rings, std::string_view properties)
{
    if (rings.empty() || rings.front() == nullptr || rings.front()->empty())
        return;
    m_features += m_features.empty() ? "\n" : ",\n";
    m_features += R"({"type":"Feature","geometry":{"type":"Polygon","coordinates":[)";
    bool first = true;
    for (const Ring *ring : rings) {
        if (ring == nullptr || ring->empty())
            continue;
        if (!first)
            m_features += ',';
        first = false;
        appendRing(m_features, *ring);
    }
    m_features += "]},\"properties\":";
    m_features += properties;
    m_features += '}';
}

std::string GeoJsonPolygonWriter::text() const
{
    return "{\"type\":\"FeatureCollection\",\"features\":[" + m_features + (m_features.empty() ? "]}\n" : "\n]}\n");
}

} // namespace icmil
