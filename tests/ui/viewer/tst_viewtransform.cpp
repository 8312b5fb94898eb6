// SPDX-License-Identifier: GPL-3.0-or-later
// Viewer geometry: ViewTransform (view <-> level 0), TileGrid (tiles and read coordinates) and
// TilePlanner (which tiles, in which order). Pure math: no slide files, no widgets.
#include "ui/viewer/tilegrid.h"
#include "ui/viewer/tileplanner.h"
#include "ui/viewer/viewtransform.h"

#include <QSet>
#include <QtTest>

#include <cmath>
#include <vector>

using icmil::slide::LevelInfo;
using icmil::ui::TileGrid;
using icmil::ui::TileKey;
using icmil::ui::TilePlanner;
using icmil::ui::ViewTransform;

namespace {

// A pyramid laid out like the synthetic writer's (each level ceil(previous / factor)) with
// OpenSlide's downsamples (mean of the width and height ratios): odd values such as 4.000566.
std::vector<LevelInfo> pyramid(std::int64_t width, std::int64_t height, int factor, int count)
{
    std::vector<LevelInfo> levels{{width, height, 1.0}};
    for (int i = 1; i < count; ++i) {
        const LevelInfo &last = levels.back();
        const std::int64_t w = (last.width + factor - 1) / factor;
        const std::int64_t h = (last.height + factor - 1) / factor;
        const double ds
            = (static_cast<double>(width) / static_cast<double>(w) + static_cast<double>(height) / static_cast<double>(h)) / 2.0;
        levels.push_back({w, h, ds});
    }
    return levels;
}

bool near(QPointF a, QPointF b, double tolerance)
{
    return std::abs(a.x() - b.x()) <= tolerance && std::abs(a.y() - b.y()) <= tolerance;
}

QString str(QPointF p)
{
    return QStringLiteral("(%1, %2)").arg(p.x(), 0, 'g', 17).arg(p.y(), 0, 'g', 17);
}

QString str(const TileKey &k)
{
    return QStringLiteral("L%1 c%2 r%3").arg(k.level).arg(k.col).arg(k.row);
}

double distanceFromCentre(const TileGrid &grid, const ViewTransform &view, const TileKey &key)
{
    const QPointF d = grid.level0Rect(key).center() - view.center();
    return std::hypot(d.x(), d.y());
}

} // namespace

class TstViewTransform : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // ---- ViewTransform ------------------------------------------------------------------------

    void roundTripsAtEveryLevel()
    {
        const std::vector<LevelInfo> levels = pyramid(100003, 80001, 4, 5);
        const TileGrid grid(levels);
        for (const double dpr : {1.0, 1.5, 2.0}) {
            ViewTransform view(QSizeF(400, 300), dpr, QSizeF(100003, 80001)); // small: level 4 is reachable
            for (int level = 0; level < grid.levelCount(); ++level) {
                // The view shows exactly this level's pixels 1:1 on the device.
                view.setScale(grid.level(level).downsample * dpr);
                view.setCenter(QPointF(31234.25 + level * 999.5, 40111.75 - level * 1234.0));
                QCOMPARE(TilePlanner::targetLevel(grid, view), level);
                const double ds = grid.level(level).downsample;
                for (const QPointF viewPos :
                     {QPointF(0, 0), QPointF(200, 150), QPointF(399.5, 299.25), QPointF(17.125, 201.0), QPointF(-50, 500)}) {
                    const QPointF slidePos = view.viewToSlide(viewPos);
                    QVERIFY2(near(view.slideToView(slidePos), viewPos, 1e-7), qPrintable(str(viewPos)));
                    // A level pixel (slidePos / ds) maps back to the same view point.
                    const QPointF levelPos = slidePos / ds;
                    QVERIFY(near(view.slideToView(levelPos * ds), viewPos, 1e-7));
                }
                for (const QPointF slidePos : {QPointF(0, 0), QPointF(100003, 80001), QPointF(31234.5, 40111.5)}) {
                    QVERIFY2(near(view.viewToSlide(view.slideToView(slidePos)), slidePos, 1e-6), qPrintable(str(slidePos)));
                }
                // Rectangles too: a level-0 rect maps to a view rect of size / scale.
                const QRectF r(30000, 40000, 256 * ds, 256 * ds);
                const QRectF v = view.slideToView(r);
                QVERIFY(near(v.topLeft(), view.slideToView(r.topLeft()), 1e-9));
                QVERIFY(std::abs(v.width() - 256.0 / dpr) < 1e-9);
                const QRectF visible = view.visibleSlideRect();
                QVERIFY(near(visible.topLeft(), view.viewToSlide(QPointF(0, 0)), 1e-9));
                QVERIFY(near(visible.bottomRight(), view.viewToSlide(QPointF(400, 300)), 1e-6));
            }
        }
    }

    void zoomAtKeepsTheCursorPointFixed()
    {
        ViewTransform view(QSizeF(1600, 900), 1.0, QSizeF(100000, 80000));
        view.setScale(10.0);
        view.setCenter(QPointF(50000, 40000));
        for (const QPointF cursor : {QPointF(0, 0), QPointF(1599, 899), QPointF(123.5, 777.25), QPointF(800, 450)}) {
            for (const double factor : {0.5, 1.0 / 1.1, 1.1, 2.0, 0.8}) {
                const QPointF before = view.viewToSlide(cursor);
                const double scaleBefore = view.scale();
                view.zoomAt(cursor, factor);
                QCOMPARE(view.scale(), scaleBefore * factor);
                QVERIFY2(near(view.viewToSlide(cursor), before, 1e-7),
                         qPrintable(str(view.viewToSlide(cursor)) + QStringLiteral(" != ") + str(before)));
                QVERIFY(near(view.slideToView(before), cursor, 1e-9));
            }
        }
        // Zooming in many steps and back returns to the same scale and the same point.
        const QPointF cursor(400, 300);
        const QPointF anchor = view.viewToSlide(cursor);
        for (int i = 0; i < 20; ++i)
            view.zoomAt(cursor, 1.0 / 1.25);
        for (int i = 0; i < 20; ++i)
            view.zoomAt(cursor, 1.25);
        QVERIFY(near(view.viewToSlide(cursor), anchor, 1e-6));
    }

    void zoomIsClampedToItsLimits()
    {
        ViewTransform view(QSizeF(1000, 800), 1.0, QSizeF(100000, 80000));
        QCOMPARE(view.fitScale(), 100.0);
        QCOMPARE(view.maxScale(), 200.0);
        QCOMPARE(view.minScale(), 0.125); // 8 device pixels per level-0 pixel
        view.zoomAt(QPointF(500, 400), 1e9);
        QCOMPARE(view.scale(), 200.0);
        view.zoomAt(QPointF(500, 400), 1e-12);
        QCOMPARE(view.scale(), 0.125);
        view.setScale(-3.0); // nonsense is ignored, not applied
        QCOMPARE(view.scale(), 0.125);
        // HiDPI: the same 8 DEVICE pixels per level-0 pixel.
        view.setViewSize(QSizeF(1000, 800), 2.0);
        QCOMPARE(view.minScale(), 0.25);
        QCOMPARE(view.scale(), 0.25); // re-clamped
        QCOMPARE(view.deviceDownsample(), 0.125);
        // A slide smaller than the view at that zoom may still be fitted.
        ViewTransform tiny(QSizeF(1000, 800), 1.0, QSizeF(50, 40));
        QCOMPARE(tiny.scale(), 0.05);
        QVERIFY(tiny.minScale() <= tiny.maxScale());
    }

    void panMovesTheContentWithTheCursor()
    {
        ViewTransform view(QSizeF(1200, 800), 2.0, QSizeF(60000, 50000));
        view.setScale(3.0);
        view.setCenter(QPointF(30000, 25000));
        const QPointF slidePoint(30500, 24500);
        const QPointF before = view.slideToView(slidePoint);
        view.panBy(QPointF(37.5, -12.25));
        QVERIFY(near(view.slideToView(slidePoint), before + QPointF(37.5, -12.25), 1e-9));
        QVERIFY(near(view.center(), QPointF(30000 - 37.5 * 3, 25000 + 12.25 * 3), 1e-9));
    }

    void fitToWindowShowsTheWholeSlideCentred()
    {
        for (const QSizeF viewSize : {QSizeF(1920, 1080), QSizeF(600, 1000), QSizeF(1, 1)}) {
            ViewTransform view(viewSize, 1.0, QSizeF(100000, 80000));
            view.setScale(2.0);
            view.setCenter(QPointF(10, 10));
            view.fitToWindow();
            QCOMPARE(view.scale(), view.fitScale());
            QCOMPARE(view.center(), QPointF(50000, 40000));
            const QRectF visible = view.visibleSlideRect();
            QVERIFY(visible.adjusted(-1e-6, -1e-6, 1e-6, 1e-6).contains(QRectF(0, 0, 100000, 80000)));
            // One side fits exactly.
            QVERIFY(std::abs(visible.width() - 100000) < 1e-6 || std::abs(visible.height() - 80000) < 1e-6);
        }
        // The constructor fits too.
        const ViewTransform fresh(QSizeF(1000, 1000), 1.0, QSizeF(4000, 2000));
        QCOMPARE(fresh.scale(), 4.0);
        QCOMPARE(fresh.center(), QPointF(2000, 1000));
    }

    void centreStaysInsideTheSlide()
    {
        ViewTransform view(QSizeF(1000, 800), 1.0, QSizeF(100000, 80000));
        view.setScale(1.0);
        view.setCenter(QPointF(-500, 1e9));
        QCOMPARE(view.center(), QPointF(0, 80000));
        view.panBy(QPointF(-1e7, -1e7)); // drag far to the upper left: content moves up-left
        QCOMPARE(view.center(), QPointF(100000, 80000));
        view.setCenter(QPointF(std::nan(""), 5));
        QCOMPARE(view.center(), QPointF(50000, 40000));
        // Zooming out at a cursor far outside the slide is clamped, not lost.
        view.setCenter(QPointF(0, 0));
        view.zoomAt(QPointF(0, 0), 100.0);
        QVERIFY(view.center().x() >= 0 && view.center().y() >= 0);
    }

    void magnification()
    {
        ViewTransform view(QSizeF(1000, 800), 1.0, QSizeF(100000, 80000));
        view.setScale(4.0);
        QCOMPARE(view.magnification(40.0), 10.0);
        view.setViewSize(QSizeF(1000, 800), 2.0);
        QCOMPARE(view.scale(), 4.0);
        QCOMPARE(view.magnification(40.0), 20.0); // a HiDPI screen shows twice the detail
        for (const double dpr : {1.0, 2.0}) {
            view.setViewSize(QSizeF(1000, 800), dpr);
            for (const double m : {1.0, 2.0, 5.0, 10.0, 20.0, 40.0}) {
                view.setMagnification(m, 40.0);
                QCOMPARE(view.magnification(40.0), m);
                QCOMPARE(view.deviceDownsample(), 40.0 / m);
            }
        }
        view.setMagnification(0.0, 40.0); // ignored
        QCOMPARE(view.magnification(40.0), 40.0);
    }

    // ---- TileGrid -----------------------------------------------------------------------------

    void gridGeometry()
    {
        const std::vector<LevelInfo> levels{{1000, 600, 1.0}, {250, 150, 4.0}, {63, 38, 15.873}};
        const TileGrid grid(levels);
        QCOMPARE(grid.tileSize(), 256);
        QCOMPARE(grid.levelCount(), 3);
        QCOMPARE(grid.columns(0), 4);
        QCOMPARE(grid.rows(0), 3);
        QCOMPARE(grid.columns(1), 1);
        QCOMPARE(grid.rows(2), 1);
        QCOMPARE(grid.columns(3), 0);
        QCOMPARE(grid.levelRect(TileKey{0, 0, 0}), QRect(0, 0, 256, 256));
        QCOMPARE(grid.levelRect(TileKey{0, 3, 2}), QRect(768, 512, 232, 88)); // clipped edge tile
        QCOMPARE(grid.levelRect(TileKey{1, 0, 0}), QRect(0, 0, 250, 150));
        QCOMPARE(grid.level0Rect(TileKey{1, 0, 0}), QRectF(0, 0, 1000, 600));
        QCOMPARE(grid.level0Rect(TileKey{0, 1, 1}), QRectF(256, 256, 256, 256));
        QVERIFY(grid.isValid(TileKey{0, 3, 2}));
        QVERIFY(!grid.isValid(TileKey{0, 4, 0}));
        QVERIFY(!grid.isValid(TileKey{0, 0, -1}));
        QVERIFY(!grid.isValid(TileKey{3, 0, 0}));
        QVERIFY(grid.levelRect(TileKey{0, 4, 0}).isEmpty());
        QCOMPARE(grid.readX(TileKey{0, 3, 2}), std::int64_t{768});
        QCOMPARE(grid.readY(TileKey{0, 3, 2}), std::int64_t{512});
        QCOMPARE(TileGrid(levels, 100).columns(0), 10);
    }

    void readCoordinatesStayInsideEveryLevel_data()
    {
        QTest::addColumn<qint64>("width");
        QTest::addColumn<qint64>("height");
        QTest::addColumn<int>("factor");
        QTest::addColumn<int>("tileSize");
        QTest::newRow("aperio-like 4x") << qint64{100003} << qint64{80001} << 4 << 256;
        QTest::newRow("4x power of two") << qint64{98304} << qint64{65536} << 4 << 256;
        QTest::newRow("3x odd") << qint64{29999} << qint64{20011} << 3 << 256;
        QTest::newRow("2x odd, tile 300") << qint64{12345} << qint64{6789} << 2 << 300;
        QTest::newRow("5x, tile 240") << qint64{77777} << qint64{55555} << 5 << 240;
    }

    void readCoordinatesStayInsideEveryLevel()
    {
        QFETCH(qint64, width);
        QFETCH(qint64, height);
        QFETCH(int, factor);
        QFETCH(int, tileSize);
        std::vector<LevelInfo> levels = pyramid(width, height, factor, 6);
        // Also the downsample OpenSlide reports for some Aperio files: 4.000566 at level 1.
        if (factor == 4)
            levels[1].downsample = 4.000566;
        const TileGrid grid(levels, tileSize);
        int checked = 0;
        for (int level = 0; level < grid.levelCount(); ++level) {
            const LevelInfo &info = grid.level(level);
            for (int row = 0; row < grid.rows(level); ++row) {
                for (int col = 0; col < grid.columns(level); ++col) {
                    const TileKey key{level, col, row};
                    const QRect r = grid.levelRect(key);
                    const std::int64_t x = grid.readX(key);
                    const std::int64_t y = grid.readY(key);
                    // SlideSource::readRegion's own check.
                    const auto lx = static_cast<std::int64_t>(std::floor(static_cast<double>(x) / info.downsample));
                    const auto ly = static_cast<std::int64_t>(std::floor(static_cast<double>(y) / info.downsample));
                    // And the read starts where the tile is, rounded down to a level-0 pixel: OpenSlide's
                    // region (from x / downsample) then ends inside the level, never past its edge.
                    const double x0 = r.x() * info.downsample;
                    const double y0 = r.y() * info.downsample;
                    const bool ok = x >= 0 && y >= 0 && lx + r.width() <= info.width && ly + r.height() <= info.height
                        && static_cast<double>(x) <= x0 + 1e-9 && static_cast<double>(x) > x0 - 1.0 && static_cast<double>(y) <= y0 + 1e-9
                        && static_cast<double>(y) > y0 - 1.0
                        && static_cast<double>(x) / info.downsample + r.width() <= static_cast<double>(info.width) + 1e-9
                        && static_cast<double>(y) / info.downsample + r.height() <= static_cast<double>(info.height) + 1e-9;
                    if (!ok) { // the message only when needed: this runs for ~150k tiles
                        QFAIL(qPrintable(QStringLiteral("%1: read (%2, %3) for level rect (%4, %5, %6 x %7), level %8 x %9")
                                             .arg(str(key))
                                             .arg(x)
                                             .arg(y)
                                             .arg(r.x())
                                             .arg(r.y())
                                             .arg(r.width())
                                             .arg(r.height())
                                             .arg(info.width)
                                             .arg(info.height)));
                    }
                    ++checked;
                }
            }
            // The tiles cover the level exactly.
            const TileKey last{level, grid.columns(level) - 1, grid.rows(level) - 1};
            QCOMPARE(grid.levelRect(last).right() + 1, static_cast<int>(info.width));
            QCOMPARE(grid.levelRect(last).bottom() + 1, static_cast<int>(info.height));
        }
        QVERIFY(checked > 100);
    }

    void tilesInClipsToTheLevel()
    {
        const TileGrid grid(std::vector<LevelInfo>{{1000, 600, 1.0}, {250, 150, 4.0}});
        // Everything and more: every tile once, row-major.
        std::vector<TileKey> all = grid.tilesIn(0, QRectF(-5000, -5000, 20000, 20000));
        QCOMPARE(static_cast<int>(all.size()), 12);
        QCOMPARE(all.front(), (TileKey{0, 0, 0}));
        QCOMPARE(all[1], (TileKey{0, 1, 0}));
        QCOMPARE(all.back(), (TileKey{0, 3, 2}));
        // An area ending exactly on a tile edge does not pull in the next tile.
        std::vector<TileKey> one = grid.tilesIn(0, QRectF(0, 0, 256, 256));
        QCOMPARE(static_cast<int>(one.size()), 1);
        one = grid.tilesIn(0, QRectF(255.5, 255.5, 1, 1));
        QCOMPARE(static_cast<int>(one.size()), 4);
        // Level 1 (one tile) in level-0 coordinates.
        QCOMPARE(static_cast<int>(grid.tilesIn(1, QRectF(900, 500, 10, 10)).size()), 1);
        // Outside, empty, invalid.
        QVERIFY(grid.tilesIn(0, QRectF(1000, 0, 500, 500)).empty());
        QVERIFY(grid.tilesIn(0, QRectF(-600, -600, 500, 500)).empty());
        QVERIFY(grid.tilesIn(0, QRectF(10, 10, 0, 0)).empty());
        QVERIFY(grid.tilesIn(2, QRectF(0, 0, 100, 100)).empty());
        QVERIFY(grid.tilesIn(0, QRectF(-1e300, -1e300, 1e300 * 1.5, 1e300 * 1.5)).size() == 12);
    }

    // ---- TilePlanner --------------------------------------------------------------------------

    void targetLevelIsTheFinestThatNeedsNoUpscaling()
    {
        const std::vector<LevelInfo> levels = pyramid(100003, 80001, 4, 5); // 1, ~4, ~16, ~64, ~256
        const TileGrid grid(levels);
        ViewTransform view(QSizeF(1920, 1080), 1.0, QSizeF(100003, 80001));
        view.setScale(0.5);
        QCOMPARE(TilePlanner::targetLevel(grid, view), 0);
        view.setScale(3.99);
        QCOMPARE(TilePlanner::targetLevel(grid, view), 0);
        view.setScale(levels[1].downsample);
        QCOMPARE(TilePlanner::targetLevel(grid, view), 1);
        view.setScale(levels[2].downsample * 0.999);
        QCOMPARE(TilePlanner::targetLevel(grid, view), 1);
        view.fitToWindow(); // ~74 level-0 px per device px: level 3 (~64), never level 4 (~256)
        QCOMPARE(TilePlanner::targetLevel(grid, view), 3);
        // HiDPI: the same logical zoom needs twice the detail, one level finer here.
        view.setScale(6.0);
        QCOMPARE(TilePlanner::targetLevel(grid, view), 1);
        view.setViewSize(QSizeF(1920, 1080), 2.0);
        QCOMPARE(view.scale(), 6.0);
        QCOMPARE(view.deviceDownsample(), 3.0);
        QCOMPARE(TilePlanner::targetLevel(grid, view), 0);
        view.setScale(100.0); // device downsample 50: level 2 (~16); at dpr 1 it would be level 3
        QCOMPARE(TilePlanner::targetLevel(grid, view), 2);
        view.setViewSize(QSizeF(1920, 1080), 1.0);
        QCOMPARE(TilePlanner::targetLevel(grid, view), 3);
    }

    void planOrderCoarserThenTargetCentreOutThenPrefetch()
    {
        const std::vector<LevelInfo> levels = pyramid(100003, 80001, 4, 5);
        const TileGrid grid(levels);
        ViewTransform view(QSizeF(1920, 1080), 1.0, QSizeF(100003, 80001));
        view.setScale(levels[1].downsample * 1.5); // target level 1
        view.setCenter(QPointF(50000, 40000));
        const int target = TilePlanner::targetLevel(grid, view);
        QCOMPARE(target, 1);
        const QRectF visible = view.visibleSlideRect();

        const std::vector<TileKey> plan = TilePlanner::plan(grid, view, {});
        QSet<TileKey> seen;
        for (const TileKey &key : plan) {
            QVERIFY2(!seen.contains(key), qPrintable(QStringLiteral("duplicate ") + str(key)));
            QVERIFY2(grid.isValid(key), qPrintable(str(key)));
            seen.insert(key);
        }

        // Split into the documented phases and check each.
        std::size_t i = 0;
        // The coarse pass: the finest coarser level that covers the view with <= 4 tiles. Here
        // the level above the target would take 12 tiles, the next one takes 4 or fewer.
        QVERIFY(grid.tilesIn(target + 1, visible).size() > TilePlanner::kCoarsePassTiles);
        const int coarse = TilePlanner::coarsePassLevel(grid, view);
        QCOMPARE(coarse, target + 2);
        const auto coarserVisible = grid.tilesIn(coarse, visible);
        QVERIFY(coarserVisible.size() <= TilePlanner::kCoarsePassTiles);
        for (std::size_t k = 0; k < coarserVisible.size(); ++k, ++i)
            QCOMPARE(plan[i].level, coarse);
        const auto targetVisible = grid.tilesIn(target, visible);
        QVERIFY(targetVisible.size() > 20);
        double lastDistance = 0.0;
        for (std::size_t k = 0; k < targetVisible.size(); ++k, ++i) {
            QCOMPARE(plan[i].level, target);
            QVERIFY(std::find(targetVisible.begin(), targetVisible.end(), plan[i]) != targetVisible.end());
            const double d = distanceFromCentre(grid, view, plan[i]);
            QVERIFY2(d >= lastDistance - 1e-9, qPrintable(str(plan[i]))); // centre-out
            lastDistance = d;
        }
        // The first target tile contains the view centre.
        QVERIFY(grid.level0Rect(plan[coarserVisible.size()]).contains(view.center()));
        // The prefetch ring: target level, not visible, touching the visible area's one-tile margin.
        const double ring = 256 * levels[1].downsample;
        const QRectF margin = visible.adjusted(-ring, -ring, ring, ring);
        std::size_t ringCount = 0;
        for (; i < plan.size() && plan[i].level == target; ++i, ++ringCount) {
            const QRectF r = grid.level0Rect(plan[i]);
            QVERIFY(!r.intersects(visible));
            QVERIFY(r.intersects(margin));
        }
        QCOMPARE(ringCount, grid.tilesIn(target, margin).size() - targetVisible.size());
        // Then the finer level (zoom in), then more of the coarser level (zoom out).
        std::size_t finer = 0;
        for (; i < plan.size() && plan[i].level == target - 1; ++i)
            ++finer;
        QVERIFY(finer > 0);
        QVERIFY(finer <= 2 * targetVisible.size()); // what a one-step zoom shows, not 16x the visible area
        std::size_t coarserOut = 0;
        for (; i < plan.size() && plan[i].level == target + 1; ++i)
            ++coarserOut;
        QVERIFY(coarserOut > 0);
        QCOMPARE(i, plan.size());

        // Without prefetch: phases 1 and 2 only.
        QCOMPARE(TilePlanner::plan(grid, view, {}, false).size(), coarserVisible.size() + targetVisible.size());
        // visibleTargetTiles: phase 2 alone, same order.
        const std::vector<TileKey> complete = TilePlanner::visibleTargetTiles(grid, view);
        QCOMPARE(complete.size(), targetVisible.size());
        QVERIFY(std::equal(complete.begin(), complete.end(), plan.begin() + static_cast<std::ptrdiff_t>(coarserVisible.size())));
    }

    void planSkipsCachedTiles()
    {
        const std::vector<LevelInfo> levels = pyramid(30011, 20011, 4, 4);
        const TileGrid grid(levels);
        ViewTransform view(QSizeF(1280, 720), 1.0, QSizeF(30011, 20011));
        view.setScale(levels[1].downsample);
        view.setCenter(QPointF(12000, 9000));
        const std::vector<TileKey> full = TilePlanner::plan(grid, view, {});
        QSet<TileKey> cached;
        for (std::size_t k = 0; k < full.size(); k += 3)
            cached.insert(full[k]);
        const std::vector<TileKey> plan = TilePlanner::plan(grid, view, [&](const TileKey &key) { return cached.contains(key); });
        std::vector<TileKey> expected;
        for (const TileKey &key : full) {
            if (!cached.contains(key))
                expected.push_back(key);
        }
        QVERIFY(plan == expected); // the same order, minus what is cached
        // Everything cached: nothing to do.
        QVERIFY(TilePlanner::plan(grid, view, [](const TileKey &) { return true; }).empty());
    }

    void planAtTheEdgesOfThePyramid()
    {
        const std::vector<LevelInfo> levels = pyramid(20000, 16000, 4, 3);
        const TileGrid grid(levels);
        ViewTransform view(QSizeF(800, 600), 1.0, QSizeF(20000, 16000));
        view.setScale(0.5); // level 0: nothing finer
        std::vector<TileKey> plan = TilePlanner::plan(grid, view, {});
        QVERIFY(!plan.empty());
        for (const TileKey &key : plan)
            QVERIFY(key.level == 0 || key.level == 1);
        QCOMPARE(plan.front().level, 1);
        view.fitToWindow();
        view.zoomAt(QPointF(400, 300), 2.0); // coarsest level: nothing coarser
        QCOMPARE(TilePlanner::targetLevel(grid, view), 2);
        plan = TilePlanner::plan(grid, view, {});
        QCOMPARE(plan.front().level, 2);
        for (const TileKey &key : plan)
            QVERIFY(key.level == 1 || key.level == 2);
        // No grid: no plan.
        QVERIFY(TilePlanner::plan(TileGrid(), view, {}).empty());
    }
};

QTEST_GUILESS_MAIN(TstViewTransform)
#include "tst_viewtransform.moc"
