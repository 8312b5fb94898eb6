// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: GeoJSON polygons (readGeoJsonPolygons: tissue contours, QuPath exports).
// ProjectError is the documented outcome.

#include "fuzztarget.h"
#include "project/export/geojsonpolygons.h"
#include "project/projecterror.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = icmil::fuzz::writeScratchFile("polygons.geojson", data, size);
    try {
        (void)icmil::project::readGeoJsonPolygons(path);
    } catch (const icmil::project::ProjectError &) { }
    return 0;
}
