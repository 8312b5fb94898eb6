// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: torch.save's legacy format (before PyTorch 1.6) through the public reader
// (readStateDict: the five pickles, the storage records after them, the flattening to dotted
// keys). The first byte is made 0x80 (a pickle's PROTO), so every input reaches the legacy
// reader. EngineError is the documented outcome for a bad file; anything else is a finding.

#include "engine/engineerror.h"
#include "engine/torchfile/torchfile.h"
#include "fuzztarget.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    std::vector<std::uint8_t> bytes(data, data + size);
    if (!bytes.empty())
        bytes[0] = 0x80;
    const auto path = icmil::fuzz::writeScratchFile("checkpoint.pt", bytes.data(), bytes.size());
    try {
        const icmil::engine::StateDict state = icmil::engine::readStateDict(path);
        for (const auto &entry : state.entries())
            (void)entry.second.contiguous();
    } catch (const icmil::engine::EngineError &) { }
    return 0;
}
