// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/tissue/tissuegeojson.h"

#include "common/geojsonpolygonwriter.h"
#include "common/numberformat.h"
#include "common/partialfile.h"
#include "slide/slideerror.h"

#include <stdexcept>

namespace icmil::slide {

std::string TissueGeoJson::format(const TissueMap &map)
{
    GeoJsonPolygonWriter writer;
    for (const TissueRegion &region : map.regions()) {
        std::vector<const TissueRing *> rings{&region.outer};
        for (const TissueRing &hole : region.holes)
            rings.push_back(&hole);
        std::string properties = R"({"objectType":"annotation","classification":{"name":"Tissue","color":[20,160,60]},"area_px":)";
        appendShortest(properties, region.areaPixels);
        properties += '}';
        writer.add(rings, properties);
    }
    return writer.text();
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
