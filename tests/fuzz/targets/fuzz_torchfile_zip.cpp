// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: torch.save's zip format through the public reader (readStateDict: the ZIP
// directory, data.pkl, the unpickler, the storages, the flattening to dotted keys). EngineError
// is the documented outcome for a bad file; anything else is a finding. Every tensor read is
// copied, so a view reaching past its storage would read out of bounds here.

#include "engine/engineerror.h"
#include "engine/torchfile/torchfile.h"
#include "fuzztarget.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = icmil::fuzz::writeScratchFile("checkpoint.pt", data, size);
    try {
        const icmil::engine::StateDict state = icmil::engine::readStateDict(path);
        for (const auto &entry : state.entries())
            (void)entry.second.contiguous();
    } catch (const icmil::engine::EngineError &) { }
    return 0;
}
