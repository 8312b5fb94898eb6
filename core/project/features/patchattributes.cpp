// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/patchattributes.h"

#include <cmath>

namespace icmil::project {

std::optional<std::int64_t> PatchAttributes::level0PatchSize() const
{
    if (patchSizeLevel0)
        return patchSizeLevel0;
    if (!patchSize)
        return std::nullopt;
    if (level0Magnification && targetMagnification && *targetMagnification > 0)
        return std::llround(static_cast<double>(*patchSize) * *level0Magnification / *targetMagnification);
    if (levelDownsample)
        return std::llround(static_cast<double>(*patchSize) * (*levelDownsample)[0]);
    return std::nullopt;
}

} // namespace icmil::project
