// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace icmil::cli {

// The CLI's one error boundary (docs/ARCHITECTURE.md, "Errors"): runs a command and turns
// whatever escapes it into one line, "error: <sentence>", on `err` and exit status 1. Commands
// throw their layers' errors and do not catch them; LibTorch's c10::Error loses its C++ backtrace
// as it does in the app; an exception of no known type still gets a line instead of abort().
int runWithErrorBoundary(const std::function<int()> &command, std::ostream &err);

// `message` on one line: surrounding blank space trimmed, its lines joined with "; ".
std::string oneLine(std::string_view message);

} // namespace icmil::cli
