// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/tilekey.h"
#include "ui/viewer/tilegrid.h"
#include "ui/viewer/viewtransform.h"

#include <QColor>
#include <QRect>
#include <QRectF>

class QImage;
class QPainter;
class QRegion;

namespace icmil::ui {

// Where a TileRenderer finds tiles: the GUI thread's TileCache, or a snapshot of it that a
// worker thread renders from.
class TileLookup {
public:
    virtual ~TileLookup() = default;
    virtual const QImage *find(const TileKey &key) = 0; // nullptr when absent
    virtual bool contains(const TileKey &key) const = 0;
};

// Draws a view of the slide from cached tiles into a frame of DEVICE pixels (frame pixel =
// logical view pixel x devicePixelRatio). Each tile of the target level is drawn when cached;
// the area of the missing ones is painted once, coarse to fine, from the cached tiles of the
// coarser levels (upscaled), so each pixel shows the finest level cached there, with whatever
// tiles of the next finer level are cached drawn over that (filtered renders), and the glass
// colour only where nothing at all is cached. Tile edges are rounded to whole device
// pixels, so neighbours never leave seams and a tile shown 1:1 is a plain copy. A quick
// (unfiltered) render of tiles shrunk below half size draws the next coarser level instead
// where cached (a sixteenth of the memory traffic); the filtered render never does. Never
// waits for a tile and allocates nothing per tile.
class TileRenderer {
public:
    struct Result {
        int drawn = 0;     // target-level tiles drawn from the cache
        int fallback = 0;  // target-level tiles painted from other levels (or glass)
        int resampled = 0; // images drawn scaled (filtered only when rendering smooth)
    };

    explicit TileRenderer(const TileGrid &grid);

    void setColors(QColor background, QColor glass);
    QColor background() const { return m_background; }
    QColor glass() const { return m_glass; }

    // Renders `deviceArea` of the frame (clipped to it). smooth: bilinear filtering of scaled
    // tiles (off for the quick frames of an animation).
    Result render(QPainter &painter, TileLookup &tiles, const ViewTransform &view, int level, const QRect &deviceArea, bool smooth);

    // The device-pixel rectangle a level-0 rectangle covers in the frame (edges rounded).
    static QRect deviceRect(const ViewTransform &view, const QRectF &level0);
    // The level-0 area a device-pixel rectangle of the frame shows.
    static QRectF level0Area(const ViewTransform &view, const QRect &deviceRect);

private:
    struct TileRange {
        int col0 = 0, col1 = -1, row0 = 0, row1 = -1;
    };
    TileRange rangeOf(int level, const QRectF &level0) const;
    // The state of one render() call.
    struct Pass {
        QPainter &painter;
        TileLookup &tiles;
        const ViewTransform &view;
        bool smooth;
        Result result;
    };
    void drawImage(Pass &pass, const QRect &target, const QImage &image, const QRectF &source) const;
    // Draws `key`'s area from `level`'s tiles if all are cached.
    bool drawStandIn(Pass &pass, int level, const TileKey &key, const QRect &target) const;
    // Paints `missing` (device pixels; target-level tiles not cached) from the other levels.
    void drawFallback(Pass &pass, int level, const QRegion &missing) const;
    // Whether `level`'s cached tiles cover all of `deviceArea` (which shows `level0`).
    bool covers(Pass &pass, int level, const QRectF &level0, const QRegion &deviceArea) const;
    // Draws the parts of `level`'s tiles that cover `level0`. With requireAll, draws nothing and
    // returns false unless every covering tile is cached.
    bool drawCovering(Pass &pass, int level, const QRectF &level0, bool requireAll) const;

    const TileGrid &m_grid;
    QColor m_background{0x2b, 0x2d, 0x30};
    QColor m_glass{0xec, 0xec, 0xea};
};

} // namespace icmil::ui
