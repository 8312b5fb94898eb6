// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: a project's settings file (<root>/icmil-project.json, readProjectSettings).
// ProjectError is the documented outcome.

#include "fuzztarget.h"
#include "project/projectcatalog.h"
#include "project/projecterror.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto file = icmil::fuzz::writeScratchFile("project/icmil-project.json", data, size);
    try {
        (void)icmil::project::readProjectSettings(file.parent_path());
    } catch (const icmil::project::ProjectError &) { }
    return 0;
}
