// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/tilegrid.h"
#include "ui/viewer/tilekey.h"
#include "ui/viewer/viewtransform.h"

#include <functional>
#include <vector>

namespace icmil::ui {

// Decides which tiles to ask for, in which order, for a view. Pure function of the view, the
// grid and what is cached:
//   1. a coarse pass: the visible tiles of the finest level coarser than the target that covers
//      the view with at most kCoarsePassTiles tiles (the coarsest level when none does), so the
//      screen fills after a read or two; they cost little against the target's dozens (with
//      levels 4x apart, the level just above the target would add about 15% more reads to a
//      cold full-screen fill, this about 4%),
//   2. the visible tiles of the target level, centre-out,
//   3. a prefetch ring one tile wide around the view at the target level,
//   4. the tiles of the next finer level visible after zooming in one level step about the view
//      centre, then those of the next coarser level visible after zooming out one step (the
//      visible area scaled by the ratio of the levels' downsamples; as many tiles as step 2).
// Every list is ordered centre-out (distance from the view centre). 3 and 4 only with prefetch.
// Cached tiles are skipped and no key appears twice. The target level is the finest whose downsample <= the view's
// device downsample (never upscale a coarser level).
class TilePlanner {
public:
    using IsCached = std::function<bool(const TileKey &)>;

    static constexpr std::size_t kCoarsePassTiles = 4;
    static int targetLevel(const TileGrid &grid, const ViewTransform &view);
    // The level of phase 1, or -1 when the target is the coarsest level.
    static int coarsePassLevel(const TileGrid &grid, const ViewTransform &view);
    static std::vector<TileKey> plan(const TileGrid &grid, const ViewTransform &view, const IsCached &isCached, bool prefetch = true);
    // Visible tiles of the target level only, centre-out (what a "complete frame" needs).
    static std::vector<TileKey> visibleTargetTiles(const TileGrid &grid, const ViewTransform &view);
};

} // namespace icmil::ui
