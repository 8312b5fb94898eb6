// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Stain normalisation settings as text: in feature files, in a loop's saved settings, in the
// project's settings file, and on the command line. No LibTorch (slidestain.h estimates).

#include "engine/stain/stainconfig.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace icmil::project {

// {"haematoxylin": [r, g, b], "eosin": [...], "max_concentration": [h, e], "lab_mean": [...],
// "lab_std": [...], "pixels": n} in one line.
std::string stainProfileJson(const engine::StainProfile &profile);
// Throws ProjectError "Cannot read a stain profile: ..." for other text.
engine::StainProfile stainProfileFromJson(const std::string &json);

// What decides the normalised pixels, as one line of JSON: the method, the reference profile and
// where it came from; empty for none, so feature files made before normalisation existed match
// "none". Feature files record it, so a project extracts again when it changes.
std::string stainSettingsKey(const engine::StainNormalisation &settings);
// The inverse ("" gives none). Throws ProjectError "Cannot read the stain settings: ...".
engine::StainNormalisation stainNormalisationFromKey(const std::string &key);

// A reference region: a slide and a level-0 rectangle, written SLIDE@X,Y,W,H.
struct StainRegion {
    std::filesystem::path slide;
    std::int64_t x = 0;
    std::int64_t y = 0;
    std::int64_t width = 0;
    std::int64_t height = 0;
};
// Throws ProjectError "A stain reference is built-in or SLIDE@X,Y,W,H (a level-0 rectangle), not
// '...'" for anything else, or a rectangle without area.
StainRegion parseStainRegion(const std::string &text);
std::string stainRegionText(const StainRegion &region);

} // namespace icmil::project
