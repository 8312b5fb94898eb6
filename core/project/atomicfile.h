// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/projecterror.h"

#include <filesystem>
#include <string_view>

namespace icmil::project {

// A file of the project could not be written (no space left, no permission, an I/O error): the
// project's fault, not the fault of the slide or run being written. A job stops at it with this
// sentence instead of leaving the input out; what it wrote before stays, so a rerun resumes.
class ProjectWriteError : public ProjectError {
public:
    using ProjectError::ProjectError;
};

// icmil::writeFileAtomically (common/partialfile.h) with the project's error type: a crash never
// leaves a half file. Throws ProjectWriteError naming the file and the cause (e.g. "No space left
// on device"); on failure the old file, if any, is untouched.
void writeFileAtomically(const std::filesystem::path &path, std::string_view contents);

} // namespace icmil::project
