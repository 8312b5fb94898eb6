// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Small text helpers shared by the CLI's commands.

#include "common/numberformat.h"

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

namespace icmil::cli {

// "a,b,,c" -> {"a", "b", "c"}.
inline std::vector<std::string> splitList(const std::string &text)
{
    std::vector<std::string> items;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ','))
        if (!item.empty())
            items.push_back(item);
    return items;
}

// A number with `decimals` decimals; "-" for NaN.
inline std::string fixed(double value, int decimals)
{
    if (std::isnan(value))
        return "-";
    return formatFixed(value, decimals);
}

} // namespace icmil::cli
