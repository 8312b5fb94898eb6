// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// Percentile ranks of scores as CLAM draws heatmaps with them: rank / (n - 1), ranks 0..n-1 in
// ascending order of score, equal scores sharing the average of their ranks; one score (or all
// equal) gives 0.5 each. Header-only and standard C++ only, so every layer can use it (the
// viewer's heatmap and the project's GeoJSON export compute the same numbers).
#include <algorithm>
#include <cstddef>
#include <numeric>
#include <vector>

namespace icmil {

inline std::vector<double> percentileRanks(const std::vector<float> &scores)
{
    const std::size_t n = scores.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
    std::vector<double> ranks(n, 0.5);
    if (n < 2)
        return ranks;
    for (std::size_t first = 0; first < n;) {
        std::size_t last = first;
        while (last + 1 < n && scores[order[last + 1]] == scores[order[first]])
            ++last;
        const double averageRank = (static_cast<double>(first) + static_cast<double>(last)) / 2.0;
        for (std::size_t i = first; i <= last; ++i)
            ranks[order[i]] = averageRank / static_cast<double>(n - 1);
        first = last + 1;
    }
    return ranks;
}

} // namespace icmil
