// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/tilegrid.h"

#include <algorithm>
#include <cmath>

namespace icmil::ui {

namespace {

// The level pixel SlideSource::readRegion derives from a level-0 coordinate (its own formula).
std::int64_t levelPixelOf(std::int64_t level0, double downsample)
{
    return static_cast<std::int64_t>(std::floor(static_cast<double>(level0) / downsample));
}

// The level-0 coordinate to read a tile starting at level pixel `levelPos`. OpenSlide starts the
// region at result / downsample, a fractional level pixel when the downsample is not an integer
// (4.000566...), and interpolates. Rounding DOWN keeps that start within 1/downsample of a level
// pixel to the left, so the region never reaches past the level's edge: with llround (nearest),
// edge tiles of a 3x pyramid came back with a translucent last column (alpha 226) and some
// interior tiles with alpha 254 corners, measured on OpenSlide 3.4.1; with floor every pixel is
// opaque. The loop guarantees SlideSource's bounds check,
// floor(result / downsample) + extent <= levelExtent, whatever the downsample.
std::int64_t level0Start(std::int64_t levelPos, int extent, std::int64_t levelExtent, double downsample)
{
    std::int64_t start = static_cast<std::int64_t>(std::floor(static_cast<double>(levelPos) * downsample));
    while (start > 0 && levelPixelOf(start, downsample) + extent > levelExtent)
        --start;
    return std::max<std::int64_t>(start, 0);
}

// floor/ceil results clamped in double first, so far-away areas cannot overflow an int.
int clampedIndex(double value, int lo, int hi)
{
    return static_cast<int>(std::clamp(value, static_cast<double>(lo), static_cast<double>(hi)));
}

std::int64_t ceilDiv(std::int64_t a, std::int64_t b)
{
    return a <= 0 ? 0 : (a + b - 1) / b;
}

} // namespace

TileGrid::TileGrid(const std::vector<slide::LevelInfo> &levels, int tileSize) : m_levels(levels), m_tileSize(std::max(1, tileSize))
{ }

int TileGrid::columns(int level) const
{
    if (level < 0 || level >= levelCount())
        return 0;
    return static_cast<int>(ceilDiv(this->level(level).width, m_tileSize));
}

int TileGrid::rows(int level) const
{
    if (level < 0 || level >= levelCount())
        return 0;
    return static_cast<int>(ceilDiv(this->level(level).height, m_tileSize));
}

bool TileGrid::isValid(const TileKey &key) const
{
    return key.level >= 0 && key.level < levelCount() && key.col >= 0 && key.col < columns(key.level) && key.row >= 0
        && key.row < rows(key.level);
}

QRect TileGrid::levelRect(const TileKey &key) const
{
    if (!isValid(key))
        return {};
    const slide::LevelInfo &info = level(key.level);
    const std::int64_t x = std::int64_t{key.col} * m_tileSize;
    const std::int64_t y = std::int64_t{key.row} * m_tileSize;
    const auto w = static_cast<int>(std::min<std::int64_t>(m_tileSize, info.width - x));
    const auto h = static_cast<int>(std::min<std::int64_t>(m_tileSize, info.height - y));
    return {static_cast<int>(x), static_cast<int>(y), w, h};
}

QRectF TileGrid::level0Rect(const TileKey &key) const
{
    const QRect r = levelRect(key);
    if (r.isEmpty())
        return {};
    const double ds = level(key.level).downsample;
    return {r.x() * ds, r.y() * ds, r.width() * ds, r.height() * ds};
}

std::int64_t TileGrid::readX(const TileKey &key) const
{
    const QRect r = levelRect(key);
    if (r.isEmpty())
        return 0;
    const slide::LevelInfo &info = level(key.level);
    return level0Start(r.x(), r.width(), info.width, info.downsample);
}

std::int64_t TileGrid::readY(const TileKey &key) const
{
    const QRect r = levelRect(key);
    if (r.isEmpty())
        return 0;
    const slide::LevelInfo &info = level(key.level);
    return level0Start(r.y(), r.height(), info.height, info.downsample);
}

std::vector<TileKey> TileGrid::tilesIn(int level, const QRectF &level0Area) const
{
    std::vector<TileKey> tiles;
    const int cols = columns(level);
    const int rowCount = rows(level);
    if (cols == 0 || rowCount == 0 || !level0Area.isValid() || !std::isfinite(level0Area.left()) || !std::isfinite(level0Area.top())
        || !std::isfinite(level0Area.right()) || !std::isfinite(level0Area.bottom()))
        return tiles;
    const slide::LevelInfo &info = this->level(level);
    const double ds = info.downsample;
    // Clipped to the level (its last tile may be partial), in level-0 pixels.
    const double left = std::max(level0Area.left(), 0.0);
    const double top = std::max(level0Area.top(), 0.0);
    const double right = std::min(level0Area.right(), static_cast<double>(info.width) * ds);
    const double bottom = std::min(level0Area.bottom(), static_cast<double>(info.height) * ds);
    if (left >= right || top >= bottom)
        return tiles;
    const double edge = m_tileSize * ds; // one tile, in level-0 pixels
    // A tile intersects when it overlaps with positive area: an area ending exactly on a tile
    // boundary does not pull in the next tile.
    const int col0 = clampedIndex(std::floor(left / edge), 0, cols - 1);
    const int row0 = clampedIndex(std::floor(top / edge), 0, rowCount - 1);
    const int col1 = clampedIndex(std::ceil(right / edge) - 1, 0, cols - 1);
    const int row1 = clampedIndex(std::ceil(bottom / edge) - 1, 0, rowCount - 1);
    if (col0 > col1 || row0 > row1)
        return tiles;
    tiles.reserve(static_cast<std::size_t>(col1 - col0 + 1) * static_cast<std::size_t>(row1 - row0 + 1));
    for (int row = row0; row <= row1; ++row) {
        for (int col = col0; col <= col1; ++col)
            tiles.push_back(TileKey{level, col, row});
    }
    return tiles;
}

} // namespace icmil::ui
