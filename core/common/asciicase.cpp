// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/asciicase.h"

#include <algorithm>

namespace icmil {

std::string asciiLower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
    return text;
}

} // namespace icmil
