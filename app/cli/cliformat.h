// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Small text helpers shared by the CLI's commands.

#include "common/numberformat.h"

#include <cmath>
#include <cstddef>
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

// The last line of a command that went on past slides it could not use. The cause is on each
// slide's line above: a damaged or unsupported slide fails again until it is replaced or removed,
// while a passing cause (a full disk, an unreachable share) does not; the slides already done are
// kept either way.
inline std::string slidesFailedLine(std::size_t failed)
{
    return "error: " + std::to_string(failed)
        + " slide(s) failed (the reason is on each one's line); replace or remove a damaged slide, then run the same "
          "command again: it keeps the slides already done and retries the rest\n";
}

} // namespace icmil::cli
