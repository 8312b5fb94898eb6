// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/framerefiner.h"
#include "ui/viewer/scalebar.h"
#include "ui/viewer/tilecache.h"
#include "ui/viewer/tilegrid.h"
#include "ui/viewer/tileloader.h"
#include "ui/viewer/viewanimator.h"
#include "ui/viewer/viewframe.h"
#include "ui/viewer/viewlayer.h"
#include "ui/viewer/viewoverlay.h"
#include "ui/viewer/viewtransform.h"

#include <QImage>
#include <QSet>
#include <QRegion>
#include <QTimer>
#include <QWidget>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace icmil::slide {
class SlideSource;
}

namespace icmil::ui {

// The whole-slide viewer widget. Draws the view from cached tiles of the pyramid level the
// zoom (and the screen's devicePixelRatio) calls for; missing tiles are painted from the
// nearest cached coarser level (the coarsest is loaded first and pinned), so the picture never
// has holes and painting never waits for a read. The composed picture is kept (ViewFrame): an
// unchanged view repaints with one copy, a pan scrolls it, and whole new pictures are drawn
// quickly then filtered on a worker (FrameRefiner). After every view change, once per event-loop
// turn, it asks its TileLoader for the tiles the TilePlanner lists (visible first, centre-out,
// then prefetch). Navigation: wheel zoom about the cursor (eased), drag with glide, arrows pan,
// +/- zoom, 0 fits; magnification presets. Overlays: scale bar and magnification.
class SlideViewer : public QWidget {
    Q_OBJECT
public:
    static constexpr int kTileSize = 256;
    static constexpr double kWheelStep = 1.5; // zoom factor per wheel notch

    explicit SlideViewer(QWidget *parent = nullptr);
    ~SlideViewer() override;

    // Shows `source` fitted to the window (nullptr: same as clear()). Starts reading at once.
    void setSlide(std::shared_ptr<const slide::SlideSource> source);
    void clear();
    const std::shared_ptr<const slide::SlideSource> &slide() const { return m_source; }
    bool hasSlide() const { return m_source != nullptr; }

    // Settings. The budget applies at once; the thread count from the next slide on.
    void setCacheBudget(std::int64_t bytes);
    std::int64_t cacheBudget() const { return m_cache.budget(); }
    void setLoaderThreads(int threads);
    int loaderThreads() const { return m_threads; }
    void setPrefetch(bool enabled);
    bool prefetch() const { return m_prefetch; }
    void setAnimated(bool enabled); // eased zoom and glide; off: every change applies at once
    bool isAnimated() const { return m_animator.isEnabled(); }

    // The view. Changes made through transform() are picked up at the next event-loop turn
    // (tiles requested, repaint, viewChanged); the methods below do that themselves.
    ViewTransform &transform();
    const ViewTransform &transform() const { return m_transform; }
    TileCache &cache() { return m_cache; }
    TileLoader *loader() const { return m_loader.get(); }
    const TileGrid &grid() const { return m_grid; }
    int targetLevel() const;

    void zoomAt(QPointF viewPos, double factor); // > 1 zooms out; eased when animated
    void zoomIn();
    void zoomOut();
    void panBy(QPointF viewDelta); // moves the content by logical pixels, at once
    void centerOn(QPointF level0);
    // Centres on a level-0 rectangle (a patch) and zooms so it spans kShownRegionShare of the
    // view's shorter side: a 224-256 px patch then shows near its own resolution.
    void showRegion(const QRectF &level0);
    static constexpr double kShownRegionShare = 0.4;
    void setScale(double level0PerLogicalPixel);
    void fitToWindow();

    // Magnification on screen; the objective power comes from the slide, or from its mpp
    // (10x at 1 µm/px) when the scanner did not record it; 0 when neither is known.
    double objectivePower() const { return m_objective; }
    bool isObjectiveEstimated() const { return m_objectiveEstimated; }
    std::optional<double> mpp() const { return m_mpp; }
    double magnification() const;
    void setMagnification(double magnification);
    // 1 2 5 10 20 40x, without those above the slide's own objective.
    std::vector<double> magnificationPresets() const;
    QString magnificationText() const; // "20.0x"; "zoom 2.00x" (screen px per slide px) without an objective; "" without a slide
    ScaleBar scaleBar() const;

    // Layers drawn over the slide, in the order added (not owned; a destroyed layer is removed).
    void addLayer(ViewLayer *layer);
    void removeLayer(ViewLayer *layer);
    const std::vector<ViewLayer *> &layers() const { return m_layers; }

    // Every visible tile of the target level is cached (or failed to read): nothing to wait for.
    bool isFrameComplete() const;
    void refresh(); // plans requests and repaints now (normally coalesced per event-loop turn)
    // The current view with its overlays, widget-sized at the screen's pixel ratio.
    QImage renderView();
    ViewFrame::Work lastFrameWork() const { return m_frame.lastWork(); }
    // The picture on screen was drawn quickly (unfiltered) and its filtered version is pending.
    bool isFrameRough() const { return m_frame.isRough(); }

Q_SIGNALS:
    void viewChanged();
    void frameCompleted();
    // The slide point under the mouse: on a move, and after the view or the slide changed under
    // a still mouse; (-1, -1) when the mouse is not over a slide.
    void cursorMoved(QPointF level0);
    void slideChanged();
    void tileFailed(const QString &message); // the first read error for a slide

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;

private:
    void scheduleRefresh();
    void reportCursor();
    void requestTiles();
    void onTileLoaded(const TileKey &key, const QImage &image);
    void onTileFailed(const TileKey &key, const QString &message);
    void checkFrameComplete();
    void flushTilePaints();
    void syncViewSize();
    void rememberFit();
    bool isFitted() const;

    std::shared_ptr<const slide::SlideSource> m_source;
    TileGrid m_grid;
    TileCache m_cache;
    std::unique_ptr<TileLoader> m_loader;
    ViewTransform m_transform;
    ViewAnimator m_animator;
    ViewFrame m_frame;
    FrameRefiner m_refiner;
    ViewOverlay m_overlay;
    std::vector<ViewLayer *> m_layers;
    QTimer m_refreshTimer;
    // Tiles arriving while loading repaint at most once per display frame (16 ms), so the GUI
    // thread does not repaint per tile and take CPU from the readers on a small machine.
    QTimer m_tilePaintTimer;
    QRegion m_tileDirty;
    ViewFrame::Quality m_quality = ViewFrame::Quality::Fast;
    int m_threads;
    bool m_prefetch = true;
    std::vector<TileKey> m_pinnedTiles; // every tile of the pinned (coarsest) level
    QSet<TileKey> m_failed;
    bool m_frameComplete = false;
    std::optional<double> m_mpp;
    double m_objective = 0.0;
    bool m_objectiveEstimated = false;
    // The view last planned for, to tell real changes from no-ops.
    QPointF m_plannedCenter;
    double m_plannedScale = 0.0;
    QSizeF m_plannedSize;
    double m_plannedDpr = 0.0;
    // The view fitToWindow() produced: while unchanged, a resize fits again.
    std::optional<std::pair<QPointF, double>> m_fit;
    bool m_dragging = false;
};

} // namespace icmil::ui
