// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/listtext.h"

namespace icmil {

std::string listSome(const std::vector<std::string> &items, std::size_t limit)
{
    std::string text;
    for (std::size_t i = 0; i < items.size() && i < limit; ++i)
        text += (i ? ", " : "") + items[i];
    if (items.size() > limit)
        text += ", and " + std::to_string(items.size() - limit) + " more";
    return text;
}

} // namespace icmil
