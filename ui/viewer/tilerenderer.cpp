// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/tilerenderer.h"

#include <QImage>
#include <QPainter>
#include <QRegion>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

namespace icmil::ui {

namespace {

// Rounds half up everywhere (also below zero), so that two tiles sharing an edge always agree
// on it and a shift by whole pixels shifts every rounded edge by exactly that much.
int snap(double value)
{
    return static_cast<int>(std::clamp(std::floor(value + 0.5), -1.0e9, 1.0e9));
}

// Quick renders draw from the next coarser level below this scale of the target level's tiles.
constexpr double kCoarserBelow = 0.5;

int clampedIndex(double value, int lo, int hi)
{
    return static_cast<int>(std::clamp(value, static_cast<double>(lo), static_cast<double>(hi)));
}

} // namespace

TileRenderer::TileRenderer(const TileGrid &grid) : m_grid(grid)
{ }

void TileRenderer::setColors(QColor background, QColor glass)
{
    m_background = background;
    m_glass = glass;
}

QRect TileRenderer::deviceRect(const ViewTransform &view, const QRectF &level0)
{
    const double dpr = view.devicePixelRatio();
    const QPointF a = view.slideToView(level0.topLeft()) * dpr;
    const QPointF b = view.slideToView(level0.bottomRight()) * dpr;
    const int x0 = snap(a.x());
    const int y0 = snap(a.y());
    return {x0, y0, snap(b.x()) - x0, snap(b.y()) - y0};
}

QRectF TileRenderer::level0Area(const ViewTransform &view, const QRect &deviceRect)
{
    const double dpr = view.devicePixelRatio();
    const QPointF topLeft = view.viewToSlide(QPointF(deviceRect.x(), deviceRect.y()) / dpr);
    const double perDevicePixel = view.scale() / dpr;
    return {topLeft, QSizeF(deviceRect.width() * perDevicePixel, deviceRect.height() * perDevicePixel)};
}

TileRenderer::TileRange TileRenderer::rangeOf(int level, const QRectF &level0) const
{
    TileRange range;
    const int cols = m_grid.columns(level);
    const int rows = m_grid.rows(level);
    if (cols == 0 || rows == 0 || level0.isEmpty())
        return range;
    const double edge = m_grid.tileSize() * m_grid.level(level).downsample;
    range.col0 = clampedIndex(std::floor(level0.left() / edge), 0, cols);
    range.row0 = clampedIndex(std::floor(level0.top() / edge), 0, rows);
    range.col1 = clampedIndex(std::ceil(level0.right() / edge) - 1, -1, cols - 1);
    range.row1 = clampedIndex(std::ceil(level0.bottom() / edge) - 1, -1, rows - 1);
    return range;
}

TileRenderer::Result TileRenderer::render(QPainter &painter, TileLookup &tiles, const ViewTransform &view, int level,
                                          const QRect &deviceArea, bool smooth)
{
    if (deviceArea.isEmpty())
        return {};
    Pass pass{painter, tiles, view, smooth, {}};
    painter.save();
    painter.setClipRect(deviceArea);

    // Outside the slide: the background, at most four bands around the slide's rectangle.
    const QRect slide = deviceRect(view, QRectF(QPointF(0.0, 0.0), view.slideSize()));
    const QRect inside = deviceArea & slide;
    if (inside.isEmpty()) {
        painter.fillRect(deviceArea, m_background);
        painter.restore();
        return pass.result;
    }
    if (inside != deviceArea) {
        const QRect &a = deviceArea;
        painter.fillRect(QRect(a.left(), a.top(), a.width(), inside.top() - a.top()), m_background);
        painter.fillRect(QRect(a.left(), inside.bottom() + 1, a.width(), a.bottom() - inside.bottom()), m_background);
        painter.fillRect(QRect(a.left(), inside.top(), inside.left() - a.left(), inside.height()), m_background);
        painter.fillRect(QRect(inside.right() + 1, inside.top(), a.right() - inside.right(), inside.height()), m_background);
    }

    // A quick (unfiltered) render of tiles shrunk below half size reads mostly memory it then
    // skips: the next coarser level, when cached, gives nearly the same picture from a sixteenth
    // of the pixels. The filtered refinement draws the proper level afterwards.
    const bool preferCoarser = !smooth && level + 1 < m_grid.levelCount()
        && m_grid.level(level).downsample / (view.scale() / view.devicePixelRatio()) < kCoarserBelow;
    // Target tiles split into those to draw and those missing; the missing ones are painted
    // together from the coarser levels first (one underpainting of their union, not one per tile).
    const TileRange range = rangeOf(level, level0Area(view, inside));
    std::vector<std::pair<QRect, const QImage *>> cached;
    QRegion missing;
    for (int row = range.row0; row <= range.row1; ++row) {
        for (int col = range.col0; col <= range.col1; ++col) {
            const TileKey key{level, col, row};
            const QRect target = deviceRect(view, m_grid.level0Rect(key));
            if (!target.intersects(inside))
                continue;
            if (preferCoarser && drawStandIn(pass, level + 1, key, target)) {
                ++pass.result.drawn;
                continue;
            }
            if (const QImage *image = tiles.find(key)) {
                cached.emplace_back(target, image);
                ++pass.result.drawn;
            } else {
                missing += target & inside;
                ++pass.result.fallback;
            }
        }
    }
    if (!missing.isEmpty())
        drawFallback(pass, level, missing);
    for (const auto &[target, image] : cached)
        drawImage(pass, target, *image, QRectF(image->rect()));
    painter.restore();
    return pass.result;
}

void TileRenderer::drawImage(Pass &pass, const QRect &target, const QImage &image, const QRectF &source) const
{
    if (target.isEmpty() || source.isEmpty())
        return;
    if (image.hasAlphaChannel())
        pass.painter.fillRect(target, m_glass);
    const bool scaled = std::abs(target.width() - source.width()) > 1e-6 || std::abs(target.height() - source.height()) > 1e-6;
    if (scaled)
        ++pass.result.resampled;
    // Filtering only where pixels are resampled: a 1:1 tile stays a straight copy. Enlarged 2x or
    // more, pixels are drawn as blocks: filtering each tile alone would show its edges as seams
    // (it cannot blend with the neighbouring tile), and a pathologist zoomed past the scan's
    // resolution looks at its pixels.
    const bool enlarged = target.width() >= 2.0 * source.width() - 1e-6;
    pass.painter.setRenderHint(QPainter::SmoothPixmapTransform, pass.smooth && scaled && !enlarged);
    pass.painter.drawImage(QRectF(target), image, source);
}

bool TileRenderer::drawStandIn(Pass &pass, int level, const TileKey &key, const QRect &target) const
{
    pass.painter.save();
    pass.painter.setClipRect(target, Qt::IntersectClip);
    const bool drawn = drawCovering(pass, level, m_grid.level0Rect(key), true);
    pass.painter.restore();
    return drawn;
}

void TileRenderer::drawFallback(Pass &pass, int level, const QRegion &missing) const
{
    // Coarse to fine over the missing area, each level's cached tiles drawn whole (clipped), so
    // every pixel ends with the finest level cached there and filtering blends across a stand-in's
    // own pixels: neighbouring missing tiles join without visible edges. Painting starts at the
    // finest coarser level whose cached tiles cover the whole area (levels below it would be
    // painted over), with the glass colour under everything when none does.
    pass.painter.save();
    if (missing.rectCount() == 1)
        pass.painter.setClipRect(missing.boundingRect(), Qt::IntersectClip); // the fast, simple clip
    else
        pass.painter.setClipRegion(missing, Qt::IntersectClip);
    const QRectF area = level0Area(pass.view, missing.boundingRect());
    int first = m_grid.levelCount();
    for (int coarser = level + 1; coarser < m_grid.levelCount(); ++coarser) {
        if (covers(pass, coarser, area, missing)) {
            first = coarser;
            break;
        }
    }
    if (first == m_grid.levelCount()) {
        pass.painter.fillRect(missing.boundingRect(), m_glass);
        first = m_grid.levelCount() - 1;
    }
    for (int coarser = first; coarser > level; --coarser)
        drawCovering(pass, coarser, area, false);
    // Sharper detail where the next finer level already has tiles (after zooming out). Those
    // are shrunk at least by the level step: only worth their memory traffic when filtered.
    if (level > 0 && pass.smooth)
        drawCovering(pass, level - 1, area, false);
    pass.painter.restore();
}

bool TileRenderer::covers(Pass &pass, int level, const QRectF &level0, const QRegion &deviceArea) const
{
    const TileRange range = rangeOf(level, level0);
    QRegion uncovered = deviceArea;
    for (int row = range.row0; row <= range.row1 && !uncovered.isEmpty(); ++row) {
        for (int col = range.col0; col <= range.col1; ++col) {
            const TileKey key{level, col, row};
            if (pass.tiles.contains(key))
                uncovered -= deviceRect(pass.view, m_grid.level0Rect(key));
        }
    }
    return uncovered.isEmpty();
}

bool TileRenderer::drawCovering(Pass &pass, int level, const QRectF &level0, bool requireAll) const
{
    const TileRange range = rangeOf(level, level0);
    if (range.col0 > range.col1 || range.row0 > range.row1)
        return false;
    if (requireAll) {
        for (int row = range.row0; row <= range.row1; ++row) {
            for (int col = range.col0; col <= range.col1; ++col) {
                const TileKey key{level, col, row};
                if (!pass.tiles.contains(key) && !(m_grid.level0Rect(key) & level0).isEmpty())
                    return false;
            }
        }
    }
    for (int row = range.row0; row <= range.row1; ++row) {
        for (int col = range.col0; col <= range.col1; ++col) {
            const TileKey key{level, col, row};
            if (const QImage *image = pass.tiles.find(key))
                drawImage(pass, deviceRect(pass.view, m_grid.level0Rect(key)), *image, QRectF(image->rect()));
        }
    }
    return true;
}

} // namespace icmil::ui
