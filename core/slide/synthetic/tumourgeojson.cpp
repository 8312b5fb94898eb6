// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/tumourgeojson.h"

#include "common/geojsonpolygonwriter.h"
#include "common/numberformat.h"

namespace icmil::slide {

std::string TumourGeoJson::format(const std::vector<TumourRegion> &tumours)
{
    GeoJsonPolygonWriter writer;
    for (const TumourRegion &tumour : tumours) {
        std::string properties = R"({"objectType":"annotation","classification":"tumor","area_px":)";
        appendShortest(properties, tumour.areaPixels);
        properties += '}';
        writer.add({&tumour.polygon}, properties);
    }
    return writer.text();
}

} // namespace icmil::slide
