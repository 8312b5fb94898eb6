// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/slideviewer.h"

#include "ui/viewer/tilememory.h"

#include "slide/io/slidesource.h"
#include "ui/viewer/tileplanner.h"

#include <QCursor>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QPaintEvent>
#include <QPainter>
#include <QResizeEvent>
#include <QThread>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace icmil::ui {

namespace {

// The coarsest level is pinned (and read first) only when it is small next to the budget: a
// single-level plain image must not lock its whole level 0 into the cache.
constexpr std::int64_t kPinnedShareOfBudget = 4;
constexpr double kKeyZoom = 2.0;        // +/- zoom factor
constexpr double kKeyPanFraction = 0.2; // arrow keys move the content by this share of the view
constexpr int kKeyPanMs = 150;
const QColor kBackground(0x2b, 0x2d, 0x30);

} // namespace

SlideViewer::SlideViewer(QWidget *parent)
    : QWidget(parent), m_animator(m_transform), m_frame(m_grid, m_cache)
      // Busy also while visible tiles are still arriving: they replace the rough parts anyway, and
      // a filtered render would take a core from the tile readers (measured: the cold fill at 20x
      // took 2.7x raw OpenSlide's time with refinement during loading).
      ,
      m_refiner(m_frame, [this] { return m_animator.isMoving() || m_dragging || !m_frameComplete; }),
      m_threads(std::max(1, QThread::idealThreadCount()))
{
    keepTileMemoryReturnable(); // the cache budget must bound the process, not just the cache
    setObjectName(QStringLiteral("slideViewer"));
    setFocusPolicy(Qt::StrongFocus);
    setMouseTracking(true);
    setAttribute(Qt::WA_OpaquePaintEvent); // every pixel is painted: no background erase
    setMinimumSize(64, 64);
    m_refreshTimer.setSingleShot(true);
    m_refreshTimer.setInterval(0);
    connect(&m_refreshTimer, &QTimer::timeout, this, &SlideViewer::refresh);
    m_tilePaintTimer.setSingleShot(true);
    m_tilePaintTimer.setInterval(16);
    connect(&m_tilePaintTimer, &QTimer::timeout, this, &SlideViewer::flushTilePaints);
    connect(&m_animator, &ViewAnimator::changed, this, &SlideViewer::scheduleRefresh);
    // Motion ended: the last frame was drawn unfiltered; have it filtered.
    connect(&m_animator, &ViewAnimator::settled, &m_refiner, &FrameRefiner::refineNow);
    connect(&m_refiner, &FrameRefiner::refined, this, qOverload<>(&QWidget::update));
    m_frame.renderer().setColors(kBackground, QColor(0xec, 0xec, 0xea));
}

SlideViewer::~SlideViewer() = default;

void SlideViewer::setSlide(std::shared_ptr<const slide::SlideSource> source)
{
    m_animator.stop();
    m_loader.reset();   // drops its queue; deliveries still posted to it are discarded
    m_refiner.cancel(); // a refinement still running is ignored when it finishes
    m_cache.clear();
    m_failed.clear();
    m_frame.release();
    m_pinnedTiles.clear();
    m_source = std::move(source);
    m_frameComplete = false;
    m_mpp.reset();
    m_objective = 0.0;
    m_objectiveEstimated = false;
    if (!m_source) {
        m_grid = TileGrid();
        m_cache.setPinnedLevel(-1);
        m_fit.reset();
        update();
        Q_EMIT slideChanged();
        Q_EMIT viewChanged();
        reportCursor();
        return;
    }

    const slide::SlideMetadata &meta = m_source->metadata();
    if (meta.levels.empty()) { // no backend hands these out; nothing to show if one did
        setSlide(nullptr);
        return;
    }
    m_grid = TileGrid(meta.levels, kTileSize);
    if (meta.mppX && *meta.mppX > 0.0)
        m_mpp = meta.mppX;
    if (meta.objectivePower && *meta.objectivePower > 0.0) {
        m_objective = *meta.objectivePower;
    } else if (m_mpp) {
        m_objective = 10.0 / *m_mpp; // the usual scanner calibration: 10x = 1 µm/px
        m_objectiveEstimated = true;
    }

    const int coarsest = m_grid.levelCount() - 1;
    const slide::LevelInfo &top = m_grid.level(coarsest);
    if (top.width * top.height * 4 <= m_cache.budget() / kPinnedShareOfBudget) {
        m_cache.setPinnedLevel(coarsest);
        m_pinnedTiles = m_grid.tilesIn(coarsest, QRectF(0, 0, meta.levels.front().width, meta.levels.front().height));
    } else {
        m_cache.setPinnedLevel(-1);
    }

    m_loader = std::make_unique<TileLoader>(m_source, m_grid, m_threads);
    connect(m_loader.get(), &TileLoader::tileLoaded, this, &SlideViewer::onTileLoaded);
    connect(m_loader.get(), &TileLoader::tileFailed, this, &SlideViewer::onTileFailed);

    const QSizeF slideSize(static_cast<double>(meta.levels.front().width), static_cast<double>(meta.levels.front().height));
    m_transform = ViewTransform(QSizeF(size()), devicePixelRatioF(), slideSize);
    rememberFit();
    m_plannedScale = 0.0; // force a plan and viewChanged
    Q_EMIT slideChanged();
    refresh(); // the coarsest level goes out first, right now
}

void SlideViewer::reportCursor()
{
    // The mouse stays where it is while keys, buttons or another slide change what is under it.
    const QPoint local = mapFromGlobal(QCursor::pos());
    Q_EMIT cursorMoved(m_source && rect().contains(local) ? m_transform.viewToSlide(QPointF(local)) : QPointF(-1.0, -1.0));
}

void SlideViewer::clear()
{
    setSlide(nullptr);
}

void SlideViewer::setCacheBudget(std::int64_t bytes)
{
    m_cache.setBudget(std::max<std::int64_t>(0, bytes));
    scheduleRefresh(); // evicted tiles may be wanted again
}

void SlideViewer::setLoaderThreads(int threads)
{
    m_threads = threads > 0 ? threads : std::max(1, QThread::idealThreadCount());
}

void SlideViewer::setPrefetch(bool enabled)
{
    m_prefetch = enabled;
    scheduleRefresh();
}

void SlideViewer::setAnimated(bool enabled)
{
    m_animator.setEnabled(enabled);
}

ViewTransform &SlideViewer::transform()
{
    scheduleRefresh(); // the caller may change it
    return m_transform;
}

int SlideViewer::targetLevel() const
{
    return m_source ? TilePlanner::targetLevel(m_grid, m_transform) : 0;
}

void SlideViewer::zoomAt(QPointF viewPos, double factor)
{
    if (m_source)
        m_animator.zoomAt(viewPos, factor);
}

void SlideViewer::zoomIn()
{
    zoomAt(rect().center(), 1.0 / kKeyZoom);
}

void SlideViewer::zoomOut()
{
    zoomAt(rect().center(), kKeyZoom);
}

void SlideViewer::panBy(QPointF viewDelta)
{
    m_animator.stop();
    m_transform.panBy(viewDelta);
    scheduleRefresh();
}

void SlideViewer::centerOn(QPointF level0)
{
    m_animator.stop();
    m_transform.setCenter(level0);
    scheduleRefresh();
}

void SlideViewer::showRegion(const QRectF &level0)
{
    if (!m_source || level0.isEmpty())
        return;
    const QSizeF view = m_transform.viewSize();
    const double side = kShownRegionShare * std::max(1.0, std::min(view.width(), view.height()));
    setScale(std::max(level0.width(), level0.height()) / side);
    centerOn(level0.center());
}

void SlideViewer::setScale(double level0PerLogicalPixel)
{
    m_animator.stop();
    m_transform.setScale(level0PerLogicalPixel);
    scheduleRefresh();
}

void SlideViewer::fitToWindow()
{
    m_animator.stop();
    m_transform.fitToWindow();
    rememberFit();
    scheduleRefresh();
}

double SlideViewer::magnification() const
{
    return m_objective > 0.0 ? m_transform.magnification(m_objective) : 0.0;
}

void SlideViewer::setMagnification(double magnification)
{
    if (m_objective <= 0.0)
        return;
    m_animator.stop();
    m_transform.setMagnification(magnification, m_objective);
    scheduleRefresh();
}

std::vector<double> SlideViewer::magnificationPresets() const
{
    std::vector<double> presets;
    if (m_objective <= 0.0)
        return presets;
    for (const double m : {1.0, 2.0, 5.0, 10.0, 20.0, 40.0}) {
        if (m <= m_objective * (1.0 + 1e-6))
            presets.push_back(m);
    }
    return presets;
}

QString SlideViewer::magnificationText() const
{
    if (!m_source)
        return {};
    const double m = magnification();
    if (m <= 0.0) { // no objective power or mpp: the zoom relative to the slide's own pixels
        const double zoom = 1.0 / m_transform.scale();
        return tr("zoom %1x").arg(zoom, 0, 'f', zoom < 10.0 ? 2 : 1);
    }
    const QString text = QStringLiteral("%1x").arg(m, 0, 'f', m < 10.0 ? 2 : 1);
    return m_objectiveEstimated ? QStringLiteral("≈") + text : text;
}

ScaleBar SlideViewer::scaleBar() const
{
    return ScaleBar(m_mpp, m_transform.scale());
}

bool SlideViewer::isFrameComplete() const
{
    if (!m_source)
        return false;
    // Unsorted: called on every tile arrival, order does not matter here.
    for (const TileKey &key : m_grid.tilesIn(targetLevel(), m_transform.visibleSlideRect())) {
        if (!m_cache.contains(key) && !m_failed.contains(key))
            return false;
    }
    return true;
}

void SlideViewer::addLayer(ViewLayer *layer)
{
    if (layer == nullptr || std::find(m_layers.begin(), m_layers.end(), layer) != m_layers.end())
        return;
    m_layers.push_back(layer);
    connect(layer, &ViewLayer::changed, this, qOverload<>(&QWidget::update));
    connect(layer, &QObject::destroyed, this, [this, layer] { removeLayer(layer); });
    update();
}

void SlideViewer::removeLayer(ViewLayer *layer)
{
    const auto it = std::find(m_layers.begin(), m_layers.end(), layer);
    if (it == m_layers.end())
        return;
    m_layers.erase(it);
    disconnect(layer, nullptr, this, nullptr);
    update();
}

void SlideViewer::scheduleRefresh()
{
    if (!m_refreshTimer.isActive())
        m_refreshTimer.start();
    update();
}

void SlideViewer::refresh()
{
    m_refreshTimer.stop();
    if (!m_source)
        return;
    syncViewSize();
    const bool changed = m_transform.center() != m_plannedCenter || m_transform.scale() != m_plannedScale
        || m_transform.viewSize() != m_plannedSize || m_transform.devicePixelRatio() != m_plannedDpr;
    m_plannedCenter = m_transform.center();
    m_plannedScale = m_transform.scale();
    m_plannedSize = m_transform.viewSize();
    m_plannedDpr = m_transform.devicePixelRatio();
    requestTiles();
    if (!changed)
        return;
    update();
    Q_EMIT viewChanged();
    reportCursor();
    m_frameComplete = isFrameComplete();
    if (m_frameComplete)
        Q_EMIT frameCompleted();
}

void SlideViewer::requestTiles()
{
    if (!m_loader)
        return;
    const auto isCached = [this](const TileKey &key) { return m_cache.contains(key) || m_failed.contains(key); };
    // The pinned (coarsest) level backs every fallback, and a new request replaces the queue, so
    // its missing tiles are always asked for: the visible ones first of all (at open, with the
    // slide fitted, that is the whole level), the others after the plan.
    std::vector<TileKey> wanted;
    std::vector<TileKey> pinnedLater;
    const QRectF visible = m_transform.visibleSlideRect();
    for (const TileKey &key : m_pinnedTiles) {
        if (!isCached(key))
            (m_grid.level0Rect(key).intersects(visible) ? wanted : pinnedLater).push_back(key);
    }
    const std::vector<TileKey> planned = TilePlanner::plan(m_grid, m_transform, isCached, m_prefetch);
    wanted.insert(wanted.end(), planned.begin(), planned.end());
    wanted.insert(wanted.end(), pinnedLater.begin(), pinnedLater.end());
    m_loader->request(std::move(wanted));
}

void SlideViewer::onTileLoaded(const TileKey &key, const QImage &image)
{
    m_cache.insert(key, image);
    const QRectF area = m_grid.level0Rect(key);
    m_frame.invalidateSlideArea(area);
    const QRect onScreen = m_transform.slideToView(area).toAlignedRect() & rect();
    if (!onScreen.isEmpty()) {
        m_tileDirty += onScreen;
        if (!m_tilePaintTimer.isActive())
            m_tilePaintTimer.start();
    }
    checkFrameComplete();
}

void SlideViewer::flushTilePaints()
{
    m_tilePaintTimer.stop();
    if (!m_tileDirty.isEmpty())
        update(m_tileDirty);
    m_tileDirty = QRegion();
}

void SlideViewer::onTileFailed(const TileKey &key, const QString &message)
{
    const bool first = m_failed.isEmpty();
    m_failed.insert(key); // painted from a coarser level; not asked for again
    if (first)
        Q_EMIT tileFailed(message);
    checkFrameComplete();
}

void SlideViewer::checkFrameComplete()
{
    if (m_frameComplete || !isFrameComplete())
        return;
    m_frameComplete = true;
    flushTilePaints(); // the completed frame is painted now, not a display frame later
    Q_EMIT frameCompleted();
}

void SlideViewer::syncViewSize()
{
    const double dpr = devicePixelRatioF();
    if (m_transform.viewSize() != QSizeF(size()) || m_transform.devicePixelRatio() != dpr) {
        const bool fitted = isFitted();
        m_transform.setViewSize(QSizeF(size()), dpr);
        if (fitted) {
            m_transform.fitToWindow();
            rememberFit();
        }
    }
}

void SlideViewer::rememberFit()
{
    m_fit = std::make_pair(m_transform.center(), m_transform.scale());
}

bool SlideViewer::isFitted() const
{
    return m_fit && m_fit->first == m_transform.center() && m_fit->second == m_transform.scale();
}

QImage SlideViewer::renderView()
{
    const double dpr = devicePixelRatioF();
    QImage image(size() * dpr, QImage::Format_RGB32);
    image.setDevicePixelRatio(dpr);
    image.fill(kBackground);
    m_quality = ViewFrame::Quality::Smooth; // an export is worth a filtered frame now
    render(&image);
    m_quality = ViewFrame::Quality::Fast;
    return image;
}

void SlideViewer::paintEvent(QPaintEvent *event)
{
    QPainter painter(this);
    if (!m_source) {
        painter.fillRect(event->rect(), kBackground);
        painter.setPen(QColor(0xb0, 0xb0, 0xb0));
        painter.drawText(rect(), Qt::AlignCenter, tr("Open a slide with File > Open or drop it here."));
        return;
    }
    syncViewSize();
    const QImage &frame = m_frame.update(m_transform, targetLevel(), m_quality);
    painter.drawImage(QPointF(0.0, 0.0), frame);
    for (ViewLayer *layer : m_layers) {
        if (layer->isVisible()) {
            painter.save();
            layer->paint(painter, m_transform, QRectF(rect()));
            painter.restore();
        }
    }
    m_overlay.paint(painter, QRectF(rect()), scaleBar(), magnificationText());
    m_refiner.framePainted(); // a quick frame is filtered off the GUI thread once it rests
}

void SlideViewer::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    if (!m_source)
        return;
    syncViewSize();
    scheduleRefresh();
}

void SlideViewer::wheelEvent(QWheelEvent *event)
{
    if (!m_source)
        return;
    const QPoint delta = event->angleDelta();
    const double notches = (delta.y() != 0 ? delta.y() : delta.x()) / 120.0;
    if (notches != 0.0)
        zoomAt(event->position(), std::pow(kWheelStep, -notches));
    event->accept();
}

void SlideViewer::mousePressEvent(QMouseEvent *event)
{
    if (!m_source || event->button() != Qt::LeftButton) {
        QWidget::mousePressEvent(event);
        return;
    }
    m_dragging = true;
    setCursor(Qt::ClosedHandCursor);
    m_animator.pressed(event->position());
}

void SlideViewer::mouseMoveEvent(QMouseEvent *event)
{
    if (!m_source)
        return;
    if (m_dragging)
        m_animator.dragged(event->position());
    Q_EMIT cursorMoved(m_transform.viewToSlide(event->position()));
}

void SlideViewer::mouseReleaseEvent(QMouseEvent *event)
{
    if (!m_dragging || event->button() != Qt::LeftButton) {
        QWidget::mouseReleaseEvent(event);
        return;
    }
    m_dragging = false;
    unsetCursor();
    m_animator.released(event->position());
    m_refiner.refineNow(); // without a glide the view rests from here
}

void SlideViewer::mouseDoubleClickEvent(QMouseEvent *event)
{
    if (m_source && event->button() == Qt::LeftButton)
        zoomAt(event->position(), 1.0 / kKeyZoom);
}

void SlideViewer::keyPressEvent(QKeyEvent *event)
{
    if (!m_source) {
        QWidget::keyPressEvent(event);
        return;
    }
    const QPointF step(width() * kKeyPanFraction, height() * kKeyPanFraction);
    switch (event->key()) {
    case Qt::Key_Left: m_animator.glideBy(QPointF(step.x(), 0.0), kKeyPanMs); break;
    case Qt::Key_Right: m_animator.glideBy(QPointF(-step.x(), 0.0), kKeyPanMs); break;
    case Qt::Key_Up: m_animator.glideBy(QPointF(0.0, step.y()), kKeyPanMs); break;
    case Qt::Key_Down: m_animator.glideBy(QPointF(0.0, -step.y()), kKeyPanMs); break;
    case Qt::Key_Plus:
    case Qt::Key_Equal: zoomIn(); break;
    case Qt::Key_Minus:
    case Qt::Key_Underscore: zoomOut(); break;
    case Qt::Key_0: fitToWindow(); break;
    default: QWidget::keyPressEvent(event); return;
    }
    event->accept();
}

} // namespace icmil::ui
