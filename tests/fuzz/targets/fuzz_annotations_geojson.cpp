// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: QuPath GeoJSON annotation import (readQuPathGeoJson against a 100000 x 80000
// slide with an offset), then what a project does with a set it accepted: its copy written and
// read back (writeProjectAnnotations, readProjectAnnotations) and a patch filter over it.
// ProjectError is the documented outcome of the import; the copy of an accepted set must read.

#include "fuzztarget.h"
#include "project/annotations/annotationimport.h"
#include "project/annotations/annotationset.h"
#include "project/projecterror.h"

#include <optional>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = icmil::fuzz::writeScratchFile("slide_001.geojson", data, size);
    icmil::project::AnnotationFrame frame;
    frame.width = 100000;
    frame.height = 80000;
    frame.offset = {16.0, 32.0};
    std::optional<icmil::project::AnnotationSet> set;
    try {
        set = icmil::project::readQuPathGeoJson(path, frame);
    } catch (const icmil::project::ProjectError &) {
        return 0;
    }
    // An accepted set: the project's copy of it reads back (a ProjectError here is a finding).
    const auto copy = icmil::fuzz::scratchFolder() / "annotations" / "slide_001.geojson";
    icmil::project::writeProjectAnnotations(copy, *set);
    (void)icmil::project::readProjectAnnotations(copy);
    const auto classes = set->classNames();
    const icmil::project::AnnotationPatchFilter filter(*set, classes, {});
    for (double x = 0; x < 100000; x += 25000)
        (void)filter.keeps(x, x * 0.8, 256.0);
    return 0;
}
