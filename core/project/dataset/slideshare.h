// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/dataset/slidelist.h"

#include <cstdint>
#include <vector>

namespace icmil::project {

// One rank's share of the slides in a multi-process job: a plan every rank computes alike from the
// same list (the slides on a shared filesystem), so no rank has to send it. Work is taken as the
// slide file's size (a proxy for its patches): largest first, each to the rank with the least so
// far, ties to the lower rank. The share keeps the list's order. Rank 0 of 1 gets every slide.
std::vector<SlideEntry> slideShare(const std::vector<SlideEntry> &slides, int rank, int worldSize);

// The same plan from given sizes (bytes, or any work measure): the rank of each slide.
std::vector<int> planSlideShares(const std::vector<std::uintmax_t> &work, int worldSize);

} // namespace icmil::project
