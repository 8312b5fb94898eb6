// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>

namespace icmil {

// `text` with A-Z made a-z and every other byte as it is (file extensions, option values, names
// compared without case): independent of the locale.
std::string asciiLower(std::string text);

} // namespace icmil
