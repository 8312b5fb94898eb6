// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Every tissue patch of a set of slides, as samples PatchSampleReader reads: the pool ICMIL's
// fine-tuning draws its epochs from and batch-norm calibration its patches. The patch grids come
// from (or go to) the project's patches/ folder, tiled as extraction tiles them.

#include "project/features/patchsamplereader.h"
#include "project/dataset/slidelist.h"
#include "project/features/slidetiler.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace icmil::project {

class ProjectLayout;

struct TissuePatchPool {
    std::vector<SampledSlide> slides;
    std::vector<PatchSample> samples; // slide by slide, in grid order
    std::string noPatches;            // why the first slide without patches has none (SlideTiling::noPatches)

    // For a message about too few patches: the first empty slide's reason, else noTissueAdvice.
    std::string noPatchesAdvice(const TilingConfig &tiling) const { return noPatches.empty() ? noTissueAdvice(tiling) : noPatches; }
};

// Opens and tiles each slide in turn; `keepGoing(i)` is asked before slide i and stops the
// collection (returning what was gathered) when it answers false. Throws SlideError /
// ProjectError for a slide that cannot be read or tiled.
TissuePatchPool collectTissuePatches(const ProjectLayout &layout, const TilingConfig &tiling, const std::vector<SlideEntry> &slides,
                                     const std::function<bool(std::size_t)> &keepGoing = {});

// Fisher-Yates with a 64-bit Mersenne twister: the same order on every platform for a seed.
void shuffleSamples(std::vector<PatchSample> &samples, std::uint64_t seed);

} // namespace icmil::project
