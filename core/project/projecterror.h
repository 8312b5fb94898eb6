// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <stdexcept>

namespace icmil::project {

// The project layer's error: what() is one complete sentence naming the file and the cause.
class ProjectError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace icmil::project
