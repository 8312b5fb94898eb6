// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/dataset/slideshare.h"

#include <algorithm>
#include <numeric>
#include <system_error>

namespace icmil::project {

std::vector<int> planSlideShares(const std::vector<std::uintmax_t> &work, int worldSize)
{
    std::vector<int> owner(work.size(), 0);
    if (worldSize <= 1)
        return owner;
    std::vector<std::size_t> order(work.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return work[a] > work[b]; });
    std::vector<std::uintmax_t> load(static_cast<std::size_t>(worldSize), 0);
    std::vector<std::size_t> count(static_cast<std::size_t>(worldSize), 0);
    for (const std::size_t slide : order) {
        // The least loaded rank; among equals the one with fewer slides, then the lower rank.
        std::size_t best = 0;
        for (std::size_t rank = 1; rank < load.size(); ++rank)
            if (load[rank] < load[best] || (load[rank] == load[best] && count[rank] < count[best]))
                best = rank;
        owner[slide] = static_cast<int>(best);
        load[best] += work[slide];
        ++count[best];
    }
    return owner;
}

std::vector<SlideEntry> slideShare(const std::vector<SlideEntry> &slides, int rank, int worldSize)
{
    std::vector<std::uintmax_t> work;
    work.reserve(slides.size());
    for (const SlideEntry &slide : slides) {
        std::error_code error;
        const std::uintmax_t size = std::filesystem::file_size(slide.path, error);
        work.push_back(error ? 0 : size); // a missing file fails on its rank, with its message
    }
    const std::vector<int> owner = planSlideShares(work, worldSize);
    std::vector<SlideEntry> share;
    for (std::size_t i = 0; i < slides.size(); ++i)
        if (owner[i] == rank)
            share.push_back(slides[i]);
    return share;
}

} // namespace icmil::project
