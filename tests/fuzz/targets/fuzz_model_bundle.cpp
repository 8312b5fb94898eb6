// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: model bundles (a stored ZIP of model.json, the embedder's and the classifier's
// torch.save files): readModelBundleInfo, then readModelBundle (every part loaded and checked).
// ProjectError is the documented outcome.

#include "fuzztarget.h"
#include "project/model/modelbundle.h"
#include "project/projecterror.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = icmil::fuzz::writeScratchFile("model.icmil", data, size);
    try {
        (void)icmil::project::readModelBundleInfo(path);
        (void)icmil::project::readModelBundle(path);
    } catch (const icmil::project::ProjectError &) { }
    return 0;
}
