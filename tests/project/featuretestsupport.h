// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Small helpers shared by the feature-store tests (header-only, Qt Test).

#include "project/projecterror.h"

#include <QString>

#include <filesystem>

namespace icmil::test {

// The message of the ProjectError `call` throws, or "" if it throws none.
template <typename Call> QString projectErrorOf(Call &&call)
{
    try {
        call();
    } catch (const project::ProjectError &e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

inline QString q(const std::filesystem::path &path)
{
    return QString::fromStdString(path.string());
}

} // namespace icmil::test
