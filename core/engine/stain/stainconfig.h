// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Stain normalisation's settings (stainnormaliser.h applies them): plain values, no LibTorch, so
// that the layers above hold, save and compare them without loading it.
//
// A slide's stain is summarised once (StainProfile, estimated from its tissue pixels) and every
// patch of the slide is mapped from that profile to a reference profile:
//   Macenko   (Macenko et al. 2009) in optical density OD = -ln(I): the slide's haematoxylin and
//             eosin vectors and their 99th-percentile concentrations are replaced by the
//             reference's (OD' = HE_ref diag(maxC_ref / maxC) pinv(HE) OD);
//   Reinhard  (Reinhard et al. 2001) in the l-alpha-beta colour space: each channel's mean and
//             standard deviation over tissue are matched to the reference's.
// Both are one affine map per slide in their colour space, so a patch comes out the same in any
// batch, and one pass over the pixels does it on the device.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace icmil::engine {

enum class StainMethod { None, Macenko, Reinhard };

std::string stainMethodName(StainMethod method); // "none", "macenko", "reinhard"
// Throws EngineError naming the methods for anything else (case-insensitive).
StainMethod parseStainMethod(const std::string &name);
std::vector<std::string> stainMethodNames();

// What stain normalisation needs to know of a slide (or of the reference).
struct StainProfile {
    // Macenko: unit optical-density vectors (R, G, B) of haematoxylin and eosin, and the 99th
    // percentile of each stain's concentration over tissue pixels.
    std::array<double, 3> haematoxylin{};
    std::array<double, 3> eosin{};
    std::array<double, 2> maxConcentration{};
    // Reinhard: mean and standard deviation of the tissue pixels in l-alpha-beta.
    std::array<double, 3> labMean{};
    std::array<double, 3> labStd{};
    std::int64_t pixels = 0; // the tissue pixels it was estimated from (0: a constant)
    bool operator==(const StainProfile &) const = default;
};

// The built-in H&E reference. Macenko part: the reference stain vectors and maximum
// concentrations of Macenko's reference implementation (H 0.5626 0.7201 0.4062, E 0.2159 0.8012
// 0.5581, maxC 1.9705 1.0308). Reinhard part: the l-alpha-beta statistics of that reference
// stain over an even grid of concentrations from 0 to maxC (the tissue pixels among them, as the
// estimator counts them).
StainProfile builtInStainReference();

struct StainNormalisation {
    StainMethod method = StainMethod::None;
    StainProfile reference = builtInStainReference();
    std::string referenceSource = "built-in"; // or "SLIDE@X,Y,W,H", for people and logs
    bool active() const { return method != StainMethod::None; }
    bool operator==(const StainNormalisation &) const = default;
};

// Pixels count as tissue (stained) when their mean optical density over R, G and B is above
// this, and an estimate needs at least this many of them. (Macenko asks every channel to be
// above beta = 0.15; that drops pale eosin, whose red density is small, and on test patches
// turned the eosin vector 4.3 degrees toward haematoxylin.)
inline constexpr double kStainedDensity = 0.15;
inline constexpr std::int64_t kMinStainedPixels = 500;

} // namespace icmil::engine
