// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Values out of the project's JSON files, checked. nlohmann's get<int>() turns a number written
// with a fraction or an exponent into an int with a static_cast, which is undefined behaviour when
// it is out of range (a damaged file's 1e57 as a loop state's format, found by tests/fuzz with
// clang's UBSan). jsonGet<T> is get<T> for every other type; for whole-number types it throws
// nlohmann's type_error (which the readers turn into "... is damaged: ...") for a number that is
// not whole or does not fit T.

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>

namespace icmil::project {

template <typename T> T jsonGet(const nlohmann::json &value)
{
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        const auto refuse = [&value]() -> T {
            throw nlohmann::json::type_error::create(302, "a whole number that fits is expected, not " + value.dump(), &value);
        };
        if (value.is_number_unsigned()) {
            const std::uint64_t v = value.get<std::uint64_t>();
            return v <= static_cast<std::uint64_t>(std::numeric_limits<T>::max()) ? static_cast<T>(v) : refuse();
        }
        if (value.is_number_integer()) {
            const std::int64_t v = value.get<std::int64_t>();
            if constexpr (std::is_unsigned_v<T>)
                return v >= 0 && static_cast<std::uint64_t>(v) <= std::numeric_limits<T>::max() ? static_cast<T>(v) : refuse();
            else
                return v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max() ? static_cast<T>(v) : refuse();
        }
        if (value.is_number_float()) {
            const double v = value.get<double>();
            // Both bounds as doubles: min() is exact, max() + 1 is a power of two.
            const double above = 2.0 * static_cast<double>(std::numeric_limits<T>::max() / 2 + 1);
            if (!std::isfinite(v) || v != std::trunc(v) || v < static_cast<double>(std::numeric_limits<T>::min()) || v >= above)
                return refuse();
            return static_cast<T>(v);
        }
    }
    return value.get<T>();
}

} // namespace icmil::project
