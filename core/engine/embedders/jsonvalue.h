// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A small strict JSON reader (RFC 8259: no comments, no trailing commas, no duplicate keys) for
// the engine's little JSON files. The engine builds against nothing but LibTorch, so it cannot
// count on nlohmann-json being installed (a GPU server); the project layer uses nlohmann-json.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace icmil::engine {

struct JsonValue {
    enum class Kind { Null, Bool, Number, String, Array, Object };
    Kind kind = Kind::Null;
    bool boolean = false;
    double number = 0.0;
    std::string text;                                       // a string's value
    std::vector<JsonValue> items;                           // an array's
    std::vector<std::pair<std::string, JsonValue>> members; // an object's, in file order
    std::string_view source;                                // the value as written, for messages

    const JsonValue *member(std::string_view key) const; // nullptr when absent or not an object

    // Parses a whole document. `source` views `text`, which must outlive the result. Throws
    // EngineError "<errorPrefix> is not valid JSON: expected ',' or '}' at line 3, column 7".
    static JsonValue parse(std::string_view text, const std::string &errorPrefix);
};

} // namespace icmil::engine
