// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The versions of the libraries the slide layer reads and writes slides with, as loaded at run
// time, for `--version` lines, the About dialog and bug reports.

#include <string>

namespace icmil::slide {

std::string openSlideVersion(); // e.g. "3.4.1"
std::string openCvVersion();    // e.g. "4.6.0"
std::string libTiffVersion();   // e.g. "4.5.0"

} // namespace icmil::slide
