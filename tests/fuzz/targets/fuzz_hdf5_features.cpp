// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: HDF5 feature and patch files (ours, CLAM's, TRIDENT's): describeFeatureFile,
// readFeatureFile and readPatchFile on the same bytes. ProjectError is the documented outcome.
// The HDF5 library itself parses the container; what is fuzzed here is ours on top of it
// (datasets, shapes, types, attributes), and HDF5 with it.

#include "fuzztarget.h"
#include "project/features/featurestore.h"
#include "project/projecterror.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = icmil::fuzz::writeScratchFile("slide_001.h5", data, size);
    try {
        (void)icmil::project::describeFeatureFile(path);
    } catch (const icmil::project::ProjectError &) { }
    try {
        (void)icmil::project::readFeatureFile(path);
    } catch (const icmil::project::ProjectError &) { }
    try {
        (void)icmil::project::readPatchFile(path);
    } catch (const icmil::project::ProjectError &) { }
    return 0;
}
