// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/tilecache.h"
#include "ui/viewer/tilegrid.h"
#include "ui/viewer/tilerenderer.h"
#include "ui/viewer/viewtransform.h"

#include <QColor>
#include <QHash>
#include <QImage>
#include <QRegion>

#include <cstdint>
#include <memory>
#include <vector>

namespace icmil::ui {

// The composed picture of the current view, kept between paints so that a repaint of an
// unchanged view is one copy. Brought up to date lazily: a pan by whole device pixels scrolls
// the picture and renders only the uncovered bands; a tile that arrives re-renders only its
// area; anything else (zoom, resize, a new ratio) renders the whole frame.
// Whole-frame renders resample without filtering (Quality::Fast, a few ms) and leave the frame
// "rough"; the owner then has a worker thread render the same frame filtered from a snapshot
// of the cached tiles (makeRefineJob / renderRefined / acceptRefined), so the GUI thread never
// spends tens of milliseconds on bilinear scaling. Small band and tile renders are filtered at
// once; large ones are treated like a whole frame.
class ViewFrame {
public:
    enum class Quality {
        Fast,   // whole-frame renders unfiltered (refined later off the GUI thread)
        Smooth, // everything filtered now (exports)
    };
    enum class Work { None, Partial, Scrolled, Full };

    // Everything a worker needs to render the frame filtered: values only.
    struct RefineJob {
        ViewTransform view;
        int level = 0;
        QSize size;
        std::uint64_t epoch = 0;
        TileGrid grid;
        QHash<TileKey, QImage> tiles; // the cached tiles the frame can use (shared, not copied)
        QColor background;
        QColor glass;
    };

    ViewFrame(const TileGrid &grid, TileCache &cache);

    TileRenderer &renderer() { return m_renderer; }

    void invalidate();                              // re-render everything at the next update
    void invalidateSlideArea(const QRectF &level0); // e.g. where a tile just arrived
    void release();                                 // forgets the picture (no slide), keeps its buffer

    // The picture of `view` drawn from `level`'s tiles, its devicePixelRatio set to the view's.
    const QImage &update(const ViewTransform &view, int level, Quality quality);

    bool isRough() const { return m_valid && m_rough; }
    Work lastWork() const { return m_lastWork; } // how the last update() got there

    std::shared_ptr<const RefineJob> makeRefineJob();              // nullptr unless rough
    static QImage renderRefined(const RefineJob &job);             // safe on any thread
    bool acceptRefined(const RefineJob &job, const QImage &image); // false: the frame moved on

private:
    bool scrollTo(const ViewTransform &view);
    void scrollPixels(int dx, int dy);

    const TileGrid &m_grid;
    TileCache &m_cache;
    TileRenderer m_renderer;
    QImage m_image;
    ViewTransform m_shown; // the view the picture shows
    int m_level = -1;
    bool m_valid = false;
    bool m_rough = false;
    std::uint64_t m_epoch = 0;        // changes with every whole render or scroll
    QRegion m_dirty;                  // device pixels of the picture
    std::vector<QRectF> m_dirtyAreas; // level-0, mapped at the next update
    bool m_refining = false;
    std::vector<QRectF> m_arrivedWhileRefining;
    Work m_lastWork = Work::None;
};

} // namespace icmil::ui
