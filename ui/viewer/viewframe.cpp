// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/viewframe.h"

#include <QPainter>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace icmil::ui {

namespace {

bool nearlyInteger(double value)
{
    return std::abs(value - std::round(value)) < 1e-6;
}

// Largest area filtered on the GUI thread in one update (a 1920 x 1080 frame is 2 M pixels;
// bilinear scaling runs at very roughly 100-200 M pixels/s).
constexpr qint64 kSmoothBudgetPixels = 256 * 1024;

qint64 dirtyPixels(const QRegion &region)
{
    qint64 pixels = 0;
    for (const QRect &rect : region)
        pixels += qint64{rect.width()} * rect.height();
    return pixels;
}

QSize frameSize(const ViewTransform &view)
{
    const double dpr = view.devicePixelRatio();
    return {std::max(1, static_cast<int>(std::lround(view.viewSize().width() * dpr))),
            std::max(1, static_cast<int>(std::lround(view.viewSize().height() * dpr)))};
}

// The GUI thread's tiles.
class CacheLookup final : public TileLookup {
public:
    explicit CacheLookup(TileCache &cache) : m_cache(cache) { }
    const QImage *find(const TileKey &key) override { return m_cache.find(key); }
    bool contains(const TileKey &key) const override { return m_cache.contains(key); }

private:
    TileCache &m_cache;
};

// A worker's copy of the tiles (implicitly shared images: nothing is copied).
class SnapshotLookup final : public TileLookup {
public:
    explicit SnapshotLookup(const QHash<TileKey, QImage> &tiles) : m_tiles(tiles) { }
    const QImage *find(const TileKey &key) override
    {
        const auto it = m_tiles.constFind(key);
        return it == m_tiles.cend() ? nullptr : &it.value();
    }
    bool contains(const TileKey &key) const override { return m_tiles.contains(key); }

private:
    const QHash<TileKey, QImage> &m_tiles;
};

} // namespace

ViewFrame::ViewFrame(const TileGrid &grid, TileCache &cache) : m_grid(grid), m_cache(cache), m_renderer(grid)
{ }

void ViewFrame::invalidate()
{
    m_valid = false;
    m_dirtyAreas.clear();
}

void ViewFrame::invalidateSlideArea(const QRectF &level0)
{
    if (!m_valid)
        return;
    m_dirtyAreas.push_back(level0);
    if (m_refining)
        m_arrivedWhileRefining.push_back(level0);
}

void ViewFrame::release()
{
    // The buffer stays for the next slide: a new 1920x1080 frame would cost ~2000 page faults
    // (several ms) in its first render, just when the slide opens.
    m_refining = false;
    m_arrivedWhileRefining.clear();
    ++m_epoch;
    invalidate();
}

const QImage &ViewFrame::update(const ViewTransform &view, int level, Quality quality)
{
    const QSize size = frameSize(view);
    if (m_image.size() != size) {
        m_image = QImage(size, QImage::Format_RGB32);
        m_valid = false;
    }
    if (m_rough && quality == Quality::Smooth)
        m_valid = false;              // replace the quick frame with a filtered one
    m_image.setDevicePixelRatio(1.0); // render in device pixels

    m_lastWork = Work::None;
    bool whole = false;
    if (!m_valid || m_level != level || !scrollTo(view)) {
        m_dirty = QRegion(m_image.rect());
        m_dirtyAreas.clear();
        m_lastWork = Work::Full;
        m_rough = false;
        whole = true;
    }
    if (m_lastWork != Work::None)
        ++m_epoch;
    m_shown = view;
    m_level = level;
    m_valid = true;

    for (const QRectF &area : m_dirtyAreas)
        m_dirty += TileRenderer::deviceRect(view, area) & m_image.rect();
    m_dirtyAreas.clear();

    if (!m_dirty.isEmpty()) {
        if (m_lastWork == Work::None)
            m_lastWork = Work::Partial;
        // Filtered at once when cheap (bands, a few tiles); a large area is drawn quickly and
        // refined off the GUI thread like a whole frame.
        const bool smooth = quality == Quality::Smooth || (!whole && dirtyPixels(m_dirty) <= kSmoothBudgetPixels);
        CacheLookup tiles(m_cache);
        QPainter painter(&m_image);
        for (const QRect &rect : m_dirty) {
            const TileRenderer::Result result = m_renderer.render(painter, tiles, view, level, rect, smooth);
            if (!smooth && result.resampled > 0)
                m_rough = true;
        }
        m_dirty = QRegion();
    }
    m_image.setDevicePixelRatio(view.devicePixelRatio());
    return m_image;
}

std::shared_ptr<const ViewFrame::RefineJob> ViewFrame::makeRefineJob()
{
    if (!isRough())
        return nullptr;
    auto job = std::make_shared<RefineJob>();
    job->view = m_shown;
    job->level = m_level;
    job->size = m_image.size();
    job->epoch = m_epoch;
    job->grid = m_grid;
    job->background = m_renderer.background();
    job->glass = m_renderer.glass();
    // Every cached tile the renderer could use: the target level, all coarser ones (fallback)
    // and the next finer one (detail drawn over a fallback).
    const QRectF visible = TileRenderer::level0Area(m_shown, m_image.rect());
    for (int level = std::max(0, m_level - 1); level < m_grid.levelCount(); ++level) {
        for (const TileKey &key : m_grid.tilesIn(level, visible)) {
            if (const QImage *image = m_cache.find(key))
                job->tiles.insert(key, *image);
        }
    }
    m_refining = true;
    m_arrivedWhileRefining.clear();
    return job;
}

QImage ViewFrame::renderRefined(const RefineJob &job)
{
    QImage image(job.size, QImage::Format_RGB32);
    TileRenderer renderer(job.grid);
    renderer.setColors(job.background, job.glass);
    SnapshotLookup tiles(job.tiles);
    QPainter painter(&image);
    renderer.render(painter, tiles, job.view, job.level, image.rect(), true);
    painter.end();
    return image;
}

bool ViewFrame::acceptRefined(const RefineJob &job, const QImage &image)
{
    m_refining = false;
    std::vector<QRectF> arrived;
    arrived.swap(m_arrivedWhileRefining);
    if (!m_valid || !m_rough || job.epoch != m_epoch || image.size() != m_image.size())
        return false;
    m_image = image;
    m_image.setDevicePixelRatio(m_shown.devicePixelRatio());
    m_rough = false;
    // Tiles that came after the snapshot are in the old picture only: draw them again.
    m_dirtyAreas.insert(m_dirtyAreas.end(), arrived.begin(), arrived.end());
    return true;
}

// Moves the existing picture when `view` differs from the shown one only by a centre shift of
// whole device pixels; marks the uncovered bands dirty. False: a full render is needed.
bool ViewFrame::scrollTo(const ViewTransform &view)
{
    if (view.scale() != m_shown.scale() || view.devicePixelRatio() != m_shown.devicePixelRatio() || view.viewSize() != m_shown.viewSize()
        || view.slideSize() != m_shown.slideSize())
        return false;
    const QPointF shift = (m_shown.center() - view.center()) / view.scale() * view.devicePixelRatio();
    if (!nearlyInteger(shift.x()) || !nearlyInteger(shift.y()))
        return false;
    const int dx = static_cast<int>(std::lround(shift.x()));
    const int dy = static_cast<int>(std::lround(shift.y()));
    if (dx == 0 && dy == 0)
        return true;
    if (std::abs(dx) >= m_image.width() || std::abs(dy) >= m_image.height())
        return false;
    scrollPixels(dx, dy);
    const int w = m_image.width();
    const int h = m_image.height();
    if (dx != 0)
        m_dirty += dx > 0 ? QRect(0, 0, dx, h) : QRect(w + dx, 0, -dx, h);
    if (dy != 0)
        m_dirty += dy > 0 ? QRect(0, 0, w, dy) : QRect(0, h + dy, w, -dy);
    m_lastWork = Work::Scrolled;
    return true;
}

void ViewFrame::scrollPixels(int dx, int dy)
{
    const int w = m_image.width();
    const int h = m_image.height();
    const auto bytesPerPixel = static_cast<std::size_t>(m_image.depth() / 8);
    const auto rowBytes = static_cast<std::size_t>(w - std::abs(dx)) * bytesPerPixel;
    const auto srcX = static_cast<std::size_t>(std::max(0, -dx)) * bytesPerPixel;
    const auto dstX = static_cast<std::size_t>(std::max(0, dx)) * bytesPerPixel;
    uchar *bits = m_image.bits(); // detaches once, not per row
    const auto stride = static_cast<std::size_t>(m_image.bytesPerLine());
    // Rows move down when dy > 0: walk from the bottom so no source row is overwritten first.
    const int first = dy > 0 ? h - 1 : 0;
    const int step = dy > 0 ? -1 : 1;
    for (int y = first; y >= 0 && y < h; y += step) {
        const int from = y - dy;
        if (from < 0 || from >= h)
            continue;
        std::memmove(bits + static_cast<std::size_t>(y) * stride + dstX, bits + static_cast<std::size_t>(from) * stride + srcX, rowBytes);
    }
}

} // namespace icmil::ui
