// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: the stored-ZIP reader (StoredZipArchive) alone: its directory (ZIP64 included),
// then for every entry a lookup by name, its data offset (the local header), a CRC-checked read
// of a small entry and the first bytes of a large one. EngineError is the documented outcome.

#include "engine/engineerror.h"
#include "engine/torchfile/randomaccessfile.h"
#include "engine/torchfile/storedziparchive.h"
#include "fuzztarget.h"

#include <algorithm>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = icmil::fuzz::writeScratchFile("archive.zip", data, size);
    try {
        const icmil::engine::RandomAccessFile file(path);
        const icmil::engine::StoredZipArchive archive(file);
        for (const auto &entry : archive.entries()) {
            try {
                if (archive.find(entry.name) == nullptr)
                    return 0;
                (void)archive.dataOffset(entry);
                (void)archive.readSmall(entry, 1 << 20);
            } catch (const icmil::engine::EngineError &) { }
            try {
                std::vector<char> head(static_cast<std::size_t>(std::min<std::uint64_t>(entry.size, 4096)));
                archive.readInto(entry, head.data(), head.size());
            } catch (const icmil::engine::EngineError &) { }
        }
    } catch (const icmil::engine::EngineError &) { }
    return 0;
}
