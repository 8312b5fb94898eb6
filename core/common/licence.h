// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The project's licence, as `--version`, the About dialog and the packages state it. The app links
// QCustomPlot (GPL-3+ in Debian), so ICMIL Studio is GPL-3.0-or-later; LICENSE holds the text.

namespace icmil {

inline constexpr const char *kLicenceSentence
    = "Free software under the GNU General Public License, version 3 or later (GPL-3.0-or-later); no warranty.";

} // namespace icmil
