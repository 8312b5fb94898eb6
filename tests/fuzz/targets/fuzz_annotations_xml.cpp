// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: ASAP XML annotation import (readAsapXml against a 100000 x 80000 slide), then the
// project's copy of an accepted set written and read back. ProjectError is the documented
// outcome of the import; the copy of an accepted set must read.

#include "fuzztarget.h"
#include "project/annotations/annotationset.h"
#include "project/projecterror.h"

#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = icmil::fuzz::writeScratchFile("slide_001.xml", data, size);
    icmil::project::AnnotationFrame frame;
    frame.width = 100000;
    frame.height = 80000;
    std::optional<icmil::project::AnnotationSet> set;
    try {
        set = icmil::project::readAsapXml(path, frame);
    } catch (const icmil::project::ProjectError &) {
        return 0;
    }
    const auto copy = icmil::fuzz::scratchFolder() / "annotations" / "slide_001.geojson";
    icmil::project::writeProjectAnnotations(copy, *set);
    (void)icmil::project::readProjectAnnotations(copy);
    for (const auto &annotation : set->annotations)
        for (const auto &polygon : annotation.polygons)
            (void)icmil::project::polygonContains(polygon, 50000.0, 40000.0);
    return 0;
}
