// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/tilekey.h"

#include "slide/io/slidesource.h"

#include <QRect>
#include <QRectF>

#include <cstdint>
#include <vector>

namespace icmil::ui {

// The viewer's tiling of every pyramid level into square tiles of tileSize level pixels
// (independent of the file's own tile size). Pure geometry: no I/O, no widgets.
class TileGrid {
public:
    TileGrid() = default;
    TileGrid(const std::vector<slide::LevelInfo> &levels, int tileSize = 256);

    int tileSize() const { return m_tileSize; }
    int levelCount() const { return static_cast<int>(m_levels.size()); }
    const slide::LevelInfo &level(int index) const { return m_levels[static_cast<std::size_t>(index)]; }
    int columns(int level) const;
    int rows(int level) const;

    // The tile's pixels in its own level (x, y, w, h; edge tiles are smaller than tileSize).
    QRect levelRect(const TileKey &key) const;
    // The same area in level-0 coordinates (x * downsample, ...).
    QRectF level0Rect(const TileKey &key) const;
    // The level-0 (x, y) to pass to SlideSource::readRegion for this tile: floor(x * downsample),
    // so the read starts at most one level-0 pixel left of level0Rect() and always passes
    // SlideSource's check floor(readX / downsample) + width <= level width (see the .cpp).
    std::int64_t readX(const TileKey &key) const;
    std::int64_t readY(const TileKey &key) const;
    // Every tile of `level` that intersects `level0Area`, row-major.
    std::vector<TileKey> tilesIn(int level, const QRectF &level0Area) const;
    bool isValid(const TileKey &key) const;

private:
    std::vector<slide::LevelInfo> m_levels;
    int m_tileSize = 256;
};

} // namespace icmil::ui
