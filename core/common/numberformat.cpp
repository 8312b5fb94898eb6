// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/numberformat.h"

#include <charconv>

namespace icmil {

namespace {

template <typename... Format> std::string toChars(double value, Format... format)
{
    char buffer[400]; // %.Nf of 1e308 with a few decimals fits
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, format...);
    if (result.ec != std::errc())
        return "?";
    return std::string(buffer, result.ptr);
}

} // namespace

std::string formatShortest(double value)
{
    return toChars(value);
}

std::string formatSignificant(double value, int digits)
{
    return toChars(value, std::chars_format::general, digits);
}

std::string formatFixed(double value, int decimals)
{
    return toChars(value, std::chars_format::fixed, decimals);
}

void appendShortest(std::string &out, double value)
{
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    out.append(buffer, result.ptr);
}

} // namespace icmil
