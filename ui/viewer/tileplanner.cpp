// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/tileplanner.h"

#include "slide/io/levelselection.h"

#include <QSet>

#include <algorithm>
#include <tuple>

namespace icmil::ui {

namespace {

// Tiles ordered by the distance of their centre from `centre` (level 0), nearest first; ties
// keep row-major order, so plans are deterministic.
void sortCentreOut(const TileGrid &grid, QPointF centre, std::vector<TileKey> &tiles)
{
    auto distance = [&](const TileKey &key) {
        const QPointF d = grid.level0Rect(key).center() - centre;
        return d.x() * d.x() + d.y() * d.y();
    };
    std::vector<std::pair<double, TileKey>> keyed;
    keyed.reserve(tiles.size());
    for (const TileKey &key : tiles)
        keyed.emplace_back(distance(key), key);
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    for (std::size_t i = 0; i < tiles.size(); ++i)
        tiles[i] = keyed[i].second;
}

// `area` scaled by `factor` about `centre` (what the view shows after zooming by factor there).
QRectF scaledAbout(const QRectF &area, QPointF centre, double factor)
{
    const QSizeF size = area.size() * factor;
    return {centre.x() - size.width() / 2.0, centre.y() - size.height() / 2.0, size.width(), size.height()};
}

// Appends the keys that are neither cached nor already planned.
class PlanBuilder {
public:
    explicit PlanBuilder(const TilePlanner::IsCached &isCached) : m_isCached(isCached) { }

    void add(const std::vector<TileKey> &tiles)
    {
        for (const TileKey &key : tiles) {
            if (m_planned.contains(key))
                continue;
            m_planned.insert(key);
            if (!m_isCached || !m_isCached(key))
                m_plan.push_back(key);
        }
    }
    std::vector<TileKey> take() { return std::move(m_plan); }

private:
    const TilePlanner::IsCached &m_isCached;
    QSet<TileKey> m_planned;
    std::vector<TileKey> m_plan;
};

} // namespace

int TilePlanner::coarsePassLevel(const TileGrid &grid, const ViewTransform &view)
{
    const int target = targetLevel(grid, view);
    const QRectF visible = view.visibleSlideRect();
    for (int level = target + 1; level < grid.levelCount(); ++level) {
        if (level + 1 == grid.levelCount() || grid.tilesIn(level, visible).size() <= kCoarsePassTiles)
            return level;
    }
    return -1;
}

int TilePlanner::targetLevel(const TileGrid &grid, const ViewTransform &view)
{
    if (grid.levelCount() == 0)
        return 0;
    std::vector<double> downsamples;
    downsamples.reserve(static_cast<std::size_t>(grid.levelCount()));
    for (int i = 0; i < grid.levelCount(); ++i)
        downsamples.push_back(grid.level(i).downsample);
    return slide::levelForDownsample(downsamples, view.deviceDownsample());
}

std::vector<TileKey> TilePlanner::visibleTargetTiles(const TileGrid &grid, const ViewTransform &view)
{
    if (grid.levelCount() == 0)
        return {};
    std::vector<TileKey> tiles = grid.tilesIn(targetLevel(grid, view), view.visibleSlideRect());
    sortCentreOut(grid, view.center(), tiles);
    return tiles;
}

std::vector<TileKey> TilePlanner::plan(const TileGrid &grid, const ViewTransform &view, const IsCached &isCached, bool prefetch)
{
    if (grid.levelCount() == 0)
        return {};
    const int target = targetLevel(grid, view);
    const QRectF visible = view.visibleSlideRect();
    const QPointF centre = view.center();
    auto tilesAt = [&](int level, const QRectF &area) {
        std::vector<TileKey> tiles = grid.tilesIn(level, area);
        sortCentreOut(grid, centre, tiles);
        return tiles;
    };
    const bool hasCoarser = target + 1 < grid.levelCount();
    const bool hasFiner = target > 0;

    PlanBuilder builder(isCached);
    if (const int coarse = coarsePassLevel(grid, view); coarse > target)
        builder.add(tilesAt(coarse, visible)); // 1. fills the screen fast
    builder.add(tilesAt(target, visible));     // 2. the final resolution
    if (prefetch) {
        const double ring = grid.tileSize() * grid.level(target).downsample;
        builder.add(tilesAt(target, visible.adjusted(-ring, -ring, ring, ring))); // 3. (visible ones are planned)
        const double targetDownsample = grid.level(target).downsample;
        if (hasFiner) { // 4a. one level step in
            const double factor = grid.level(target - 1).downsample / targetDownsample;
            builder.add(tilesAt(target - 1, scaledAbout(visible, centre, factor)));
        }
        if (hasCoarser) { // 4b. one level step out
            const double factor = grid.level(target + 1).downsample / targetDownsample;
            builder.add(tilesAt(target + 1, scaledAbout(visible, centre, factor)));
        }
    }
    return builder.take();
}

} // namespace icmil::ui
