// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace icmil::project {

// How a slide's patches were cut: the geometry CLAM and TRIDENT record as attributes of the
// `coords` dataset. Every field is optional because files from other tools carry different
// subsets (CLAM's feature files carry none at all); unknown means "the file did not say".
//
//   field                 CLAM attribute                   TRIDENT attribute
//   patchSize             patch_size (at patch_level)      patch_size (at target_magnification)
//   patchLevel            patch_level                      -
//   patchSizeLevel0       -                                patch_size_level0
//   targetMagnification   -                                target_magnification
//   level0Magnification   -                                level0_magnification
//   overlap               -                                overlap (pixels, at target magnification)
//   levelDownsample       downsample (x, y)                -
//   levelDimensions       level_dim, downsampled_level_dim -
//   level0Dimensions      -                                level0_width, level0_height
//   encoder               -                                encoder (on `features`)
struct PatchAttributes {
    std::optional<std::int64_t> patchSize;                       // patch side in pixels at the working resolution
                                                                 // (patch level / target magnification), before
                                                                 // any resize for the encoder
    std::optional<std::int64_t> patchLevel;                      // pyramid level the patch was read from
    std::optional<std::int64_t> patchSizeLevel0;                 // patch side in level-0 pixels (its footprint)
    std::optional<double> targetMagnification;                   // e.g. 20 for "20x"
    std::optional<double> level0Magnification;                   // the slide's own objective power, e.g. 40
    std::optional<std::int64_t> overlap;                         // pixels shared by neighbouring patches
    std::optional<std::array<double, 2>> levelDownsample;        // of patchLevel vs level 0 (x, y)
    std::optional<std::array<std::int64_t, 2>> levelDimensions;  // width, height of patchLevel
    std::optional<std::array<std::int64_t, 2>> level0Dimensions; // width, height of level 0
    std::string encoder;                                         // the patch encoder's name ("resnet50_trunc", "uni_v1"); empty: unknown
    std::string sourceFormat;                                    // set by the readers: "icmil", "clam" or "trident"
    // ICMIL Studio's own: the tissue detector's settings and the minimum tissue per patch that
    // chose these patches (tissueSettingsKey, JSON); empty when the file does not say.
    std::string tissueSettings;
    // Feature files only: the stain normalisation the patches had before the encoder
    // (stainSettingsKey, JSON; empty: none) and the slide's own stain it mapped from
    // (stainProfileJson; empty: none).
    std::string stainSettings;
    std::string stainProfile;

    // The level-0 footprint of a patch: patchSizeLevel0, else derived from patchSize and the
    // magnifications (TRIDENT) or the level downsample (CLAM); nullopt when nothing says.
    std::optional<std::int64_t> level0PatchSize() const;

    bool operator==(const PatchAttributes &) const = default;
};

} // namespace icmil::project
