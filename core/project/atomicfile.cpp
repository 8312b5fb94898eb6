// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/atomicfile.h"

#include "common/partialfile.h"

#include <stdexcept>

namespace icmil::project {

void writeFileAtomically(const std::filesystem::path &path, std::string_view contents)
{
    try {
        icmil::writeFileAtomically(path, contents);
    } catch (const std::runtime_error &e) {
        throw ProjectWriteError(e.what());
    }
}

} // namespace icmil::project
