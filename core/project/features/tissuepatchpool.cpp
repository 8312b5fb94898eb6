// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/tissuepatchpool.h"

#include "project/projectlayout.h"
#include "slide/io/slidesource.h"

#include <random>

namespace icmil::project {

TissuePatchPool collectTissuePatches(const ProjectLayout &layout, const TilingConfig &tiling, const std::vector<SlideEntry> &slides,
                                     const std::function<bool(std::size_t)> &keepGoing)
{
    TissuePatchPool pool;
    for (std::size_t i = 0; i < slides.size(); ++i) {
        if (keepGoing && !keepGoing(i))
            break;
        const SlideEntry &entry = slides[i];
        std::shared_ptr<const slide::SlideSource> source = slide::SlideSource::open(entry.path);
        const SlideTiling tiled = SlideTiler(layout, tiling).tile(*source, entry.slideId);
        const int index = static_cast<int>(pool.slides.size());
        pool.slides.push_back({source, tiled.grid.readLevel, tiled.grid.readSize});
        for (const slide::PatchCoord &coord : tiled.grid.coords)
            pool.samples.push_back({index, coord});
        if (tiled.grid.coords.empty() && pool.noPatches.empty())
            pool.noPatches = tiled.noPatches;
    }
    return pool;
}

void shuffleSamples(std::vector<PatchSample> &samples, std::uint64_t seed)
{
    std::mt19937_64 random(seed);
    for (std::size_t i = samples.size(); i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(random() % i);
        std::swap(samples[i - 1], samples[j]);
    }
}

} // namespace icmil::project
