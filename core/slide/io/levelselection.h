// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <vector>

namespace icmil::slide {

// Index of the finest level whose downsample is <= `requested` (within a relative tolerance of
// 1e-6, so a request of exactly a level's downsample picks that level). Requests below the first
// level's downsample pick level 0. `downsamples` must be ascending and non-empty.
int levelForDownsample(const std::vector<double> &downsamples, double requested);

} // namespace icmil::slide
