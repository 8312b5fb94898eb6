// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/io/levelselection.h"

namespace icmil::slide {

int levelForDownsample(const std::vector<double> &downsamples, double requested)
{
    int best = 0;
    for (int i = 1; i < static_cast<int>(downsamples.size()); ++i) {
        // A level qualifies when it does not need upscaling to reach the requested downsample.
        if (downsamples[static_cast<std::size_t>(i)] <= requested * (1.0 + 1e-6))
            best = i;
        else
            break;
    }
    return best;
}

} // namespace icmil::slide
