// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <stdexcept>

namespace icmil::engine {

// The engine's typed error: thrown at the engine's boundary with a message meant for a person
// (a dialog, a CLI line, a failed job). LibTorch's own c10::Error is caught by callers per job.
class EngineError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace icmil::engine
