// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>

namespace icmil {

// The code base's number formatting, one place for it. All three are independent of the locale
// (std::to_chars), so a CSV, JSON or GeoJSON file reads the same on every machine.

// The shortest text that reads back to the same double: "0.1", "2", "1234.5678".
std::string formatShortest(double value);
// At most `digits` significant digits, printf's %g: "0.812345", "2", "1e+06".
std::string formatSignificant(double value, int digits = 6);
// Exactly `decimals` decimals, printf's %.*f: "0.81", "12.0".
std::string formatFixed(double value, int decimals);

// formatShortest appended to `out` (for writers that build a large text).
void appendShortest(std::string &out, double value);

} // namespace icmil
