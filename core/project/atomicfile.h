// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <filesystem>
#include <string_view>

namespace icmil::project {

// icmil::writeFileAtomically (common/partialfile.h) with the project's error type: a crash never
// leaves a half file. Throws ProjectError naming the file and the cause (e.g. "No space left on
// device"); on failure the old file, if any, is untouched.
void writeFileAtomically(const std::filesystem::path &path, std::string_view contents);

} // namespace icmil::project
