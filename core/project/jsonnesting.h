// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The project's JSON readers refuse, while parsing, JSON nested deeper than any file of ours:
// copying a value, dump() and the readers' own walks recurse once per level, so a hostile file
// nested 300,000 deep would overflow the stack (found by tests/fuzz).

#include "project/projecterror.h"

#include <nlohmann/json.hpp>

#include <string>

namespace icmil::project {

inline constexpr int kMaxJsonNesting = 64;

// A callback for nlohmann::json::parse that throws ProjectError(prefix + "it nests deeper than
// 64 levels") as soon as the input nests deeper than kMaxJsonNesting.
inline nlohmann::json::parser_callback_t jsonNestingLimit(std::string prefix = {})
{
    return [prefix = std::move(prefix)](int depth, nlohmann::json::parse_event_t, nlohmann::json &) {
        if (depth > kMaxJsonNesting)
            throw ProjectError(prefix + "it nests deeper than " + std::to_string(kMaxJsonNesting) + " levels");
        return true;
    };
}

} // namespace icmil::project
