#pragma once

#include "ui/viewer/tilegrid.h"
#include "ui/viewer/tilekey.h"
#include "ui/viewer/viewtransform.h"

#include <functional>
#include <vector>

namespace icmil::ui {

// Decides which tiles to ask for, in which order, for a view. Pure function of the view, the
// grid and what is cached:
//   1. the visible tiles one level coarser than the target (few; fills the screen fast),
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

    static int targetLevel(const TileGrid &grid, const ViewTransform &view);
    static std::vector<TileKey> plan(const TileGrid &grid, const ViewTransform &view, const IsCached &isCached,
                                     bool prefetch = true);
    // Visible tiles of the target level only, centre-out (what a "complete frame" needs).
    static std::vector<TileKey> visibleTargetTiles(const TileGrid &grid, const ViewTransform &view);
};

} // namespace icmil::ui
