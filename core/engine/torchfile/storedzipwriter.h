// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A ZIP archive of stored (uncompressed) members, built in memory: the counterpart of
// StoredZipArchive for archives that are not torch.save files (ICMIL Studio's model bundles). Each
// member carries its CRC-32, so StoredZipArchive::readSmall and Python's zipfile check it. No
// ZIP64: the archive must stay under 4 GiB.

#include <string>
#include <utility>
#include <vector>

namespace icmil::engine {

struct StoredZipMember {
    std::string name; // a relative path with '/' separators
    std::string bytes;
};

// The whole archive's bytes, members in the given order. Throws EngineError for an empty or
// repeated name, or an archive that would reach 4 GiB.
std::string makeStoredZip(const std::vector<StoredZipMember> &members);

} // namespace icmil::engine
