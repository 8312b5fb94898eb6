#pragma once

#include <filesystem>
#include <string_view>

namespace icmil::project {

// Writes `contents` to `path` so that a crash never leaves a half file: write "<path>.partial",
// flush + fsync, rename over `path`, fsync the directory. Throws ProjectError naming the file and
// the cause (e.g. "No space left on device"); on failure the old file, if any, is untouched.
void writeFileAtomically(const std::filesystem::path &path, std::string_view contents);

} // namespace icmil::project
