// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace icmil {

// Lists up to `limit` items as "a, b, c" then ", and N more", for messages that name things.
std::string listSome(const std::vector<std::string> &items, std::size_t limit = 5);

} // namespace icmil
