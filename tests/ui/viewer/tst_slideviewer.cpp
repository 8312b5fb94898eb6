// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/io/slidesource.h"
#include "slide/synthetic/syntheticslidewriter.h"
#include "ui/viewer/scalebar.h"
#include "ui/viewer/slideviewer.h"
#include "ui/viewer/tileplanner.h"
#include "ui/viewer/viewframe.h"
#include "ui/viewer/viewlayer.h"

#include <QPainter>

#include <QCursor>
#include <QMouseEvent>
#include <QSignalSpy>
#include <QWheelEvent>
#include "common/slidetestsupport.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

namespace fs = std::filesystem;
using icmil::ui::ScaleBar;
using icmil::ui::SlideViewer;

namespace {

constexpr int kViewWidth = 640;
constexpr int kViewHeight = 480;
constexpr int kSettleMs = 20000;

QImage toImage(const icmil::slide::RgbaImage &rgba)
{
    QImage image(rgba.width, rgba.height, QImage::Format_RGBA8888);
    for (int y = 0; y < rgba.height; ++y)
        std::memcpy(image.scanLine(y), rgba.scanLine(y), static_cast<std::size_t>(rgba.width) * 4u);
    return image.convertToFormat(QImage::Format_RGB32);
}

// Pixels of `shot` (inside `area`) that differ from `expected` (the same size as `area`).
int mismatches(const QImage &shot, const QRect &area, const QImage &expected)
{
    int count = 0;
    for (int y = 0; y < area.height(); ++y) {
        for (int x = 0; x < area.width(); ++x) {
            if ((shot.pixel(area.x() + x, area.y() + y) & 0xffffffu) != (expected.pixel(x, y) & 0xffffffu))
                ++count;
        }
    }
    return count;
}

double meanAbsDifference(const QImage &a, const QImage &b)
{
    double sum = 0.0;
    for (int y = 0; y < a.height(); ++y) {
        for (int x = 0; x < a.width(); ++x) {
            const QRgb p = a.pixel(x, y);
            const QRgb q = b.pixel(x, y);
            sum += std::abs(qRed(p) - qRed(q)) + std::abs(qGreen(p) - qGreen(q)) + std::abs(qBlue(p) - qBlue(q));
        }
    }
    return sum / (3.0 * a.width() * a.height());
}

QImage grab(SlideViewer &viewer)
{
    return viewer.grab().toImage().convertToFormat(QImage::Format_RGB32);
}

} // namespace

class TstSlideViewer : public QObject {
    Q_OBJECT
private:
    fs::path m_slidePath;
    std::shared_ptr<const icmil::slide::SlideSource> m_source;
    std::unique_ptr<SlideViewer> m_viewer;

    // The area of the widget compared with the slide: clear of the overlays in the corners.
    static QRect comparedArea() { return {40, 60, kViewWidth - 80, kViewHeight - 160}; }

    // What the slide holds under comparedArea() for the viewer's current view at `level`.
    QImage expectedAt(int level)
    {
        const icmil::ui::ViewTransform &view = m_viewer->transform();
        const double ds = m_viewer->grid().level(level).downsample;
        const QPointF topLeft = view.viewToSlide(QPointF(comparedArea().topLeft()));
        // The test only uses views whose pixels line up with the level's pixels.
        const QPointF levelPos = topLeft / ds;
        [&] { QCOMPARE(levelPos, QPointF(std::round(levelPos.x()), std::round(levelPos.y()))); }();
        const auto x = static_cast<std::int64_t>(std::llround(levelPos.x() * ds));
        const auto y = static_cast<std::int64_t>(std::llround(levelPos.y() * ds));
        return toImage(m_source->readRegion(level, x, y, comparedArea().width(), comparedArea().height()));
    }

private Q_SLOTS:
    void initTestCase()
    {
        const fs::path dir = icmil::test::scratchDir("tst_slideviewer");
        m_slidePath = dir / "viewer.svs";
        icmil::slide::SyntheticSlideConfig config;
        config.width = 4096;
        config.height = 3072;
        config.seed = 5;
        config.positive = true;
        config.mpp = 0.5;
        config.objectivePower = 20;
        config.slideId = "viewer";
        icmil::slide::SyntheticSlideWriter(config).write(m_slidePath, dir / "viewer_mask.png", dir / "viewer.geojson");
        m_source = icmil::slide::SlideSource::open(m_slidePath);
        QVERIFY(m_source->levelCount() >= 3);
    }

    void init()
    {
        m_viewer = std::make_unique<SlideViewer>();
        m_viewer->setAnimated(false);
        m_viewer->resize(kViewWidth, kViewHeight);
        m_viewer->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_viewer.get()));
    }

    void cleanup() { m_viewer.reset(); }

    void opensFittedAndCompletesTheFrame()
    {
        QSignalSpy completed(m_viewer.get(), &SlideViewer::frameCompleted);
        m_viewer->setSlide(m_source);
        QVERIFY(m_viewer->hasSlide());
        QCOMPARE(m_viewer->cache().pinnedLevel(), m_source->levelCount() - 1);
        QCOMPARE(m_viewer->transform().scale(), m_viewer->transform().fitScale());
        QVERIFY(completed.wait(kSettleMs) || m_viewer->isFrameComplete());
        QVERIFY(m_viewer->isFrameComplete());
        // The coarsest level is all there (pinned) once the first frame is complete or soon after.
        const int coarsest = m_source->levelCount() - 1;
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->cache().contains({coarsest, 0, 0}), kSettleMs);
    }

    void levelZeroPixelsMatchTheSlide()
    {
        m_viewer->setSlide(m_source);
        m_viewer->setScale(1.0);
        m_viewer->centerOn(QPointF(1000.0, 800.0)); // 640 x 480 view: top left (680, 560), whole pixels
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete(), kSettleMs);
        QCOMPARE(m_viewer->targetLevel(), 0);
        const QImage shot = grab(*m_viewer);
        QCOMPARE(shot.size(), QSize(kViewWidth, kViewHeight));
        QCOMPARE(mismatches(shot, comparedArea(), expectedAt(0)), 0);
    }

    void zoomedAndPannedPixelsMatchLevelOne()
    {
        m_viewer->setSlide(m_source);
        const double ds = m_viewer->grid().level(1).downsample;
        QCOMPARE(ds, 4.0);
        // 20x objective at 5x on screen: level 1 (downsample 4) shown 1:1.
        m_viewer->setMagnification(5.0);
        QCOMPARE(m_viewer->transform().scale(), ds);
        QCOMPARE(m_viewer->magnificationText(), QStringLiteral("5.00x"));
        m_viewer->centerOn(QPointF(600.0 * ds, 400.0 * ds));
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete(), kSettleMs);
        QCOMPARE(m_viewer->targetLevel(), 1);
        QCOMPARE(mismatches(grab(*m_viewer), comparedArea(), expectedAt(1)), 0);

        // A pan by whole pixels scrolls the picture; the result must still be exact.
        m_viewer->panBy(QPointF(-37.0, 23.0));
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete(), kSettleMs);
        QCOMPARE(mismatches(grab(*m_viewer), comparedArea(), expectedAt(1)), 0);
        m_viewer->panBy(QPointF(120.0, -90.0));
        const QImage scrolled = grab(*m_viewer);
        QCOMPARE(m_viewer->lastFrameWork(), icmil::ui::ViewFrame::Work::Scrolled);
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete(), kSettleMs);
        QCOMPARE(mismatches(grab(*m_viewer), comparedArea(), expectedAt(1)), 0);
        Q_UNUSED(scrolled);

        // Zoom about a point by exactly one level step: back at level 0 1:1.
        const QPointF anchor(320.0, 240.0);
        const QPointF before = m_viewer->transform().viewToSlide(anchor);
        m_viewer->zoomAt(anchor, 1.0 / ds);
        QCOMPARE(m_viewer->transform().scale(), 1.0);
        QCOMPARE(m_viewer->transform().viewToSlide(anchor), before);
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete(), kSettleMs);
        QCOMPARE(m_viewer->targetLevel(), 0);
        QCOMPARE(mismatches(grab(*m_viewer), comparedArea(), expectedAt(0)), 0);
    }

    void missingTilesArePaintedFromACoarserLevel()
    {
        m_viewer->setSlide(m_source);
        m_viewer->setScale(1.0);
        m_viewer->centerOn(QPointF(2000.0, 1500.0));
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete(), kSettleMs);
        const QImage sharp = grab(*m_viewer);

        // Drop every tile but the pinned coarsest level, and re-render without event processing
        // (no tile can arrive in between): the view must come from the coarsest level.
        m_viewer->cache().setBudget(0);
        QVERIFY(!m_viewer->isFrameComplete());
        m_viewer->setScale(1.25); // a new scale: the whole picture is rendered again
        QVERIFY(!grab(*m_viewer).isNull());
        m_viewer->setScale(1.0);
        const QImage fallback = grab(*m_viewer);
        QVERIFY(!m_viewer->isFrameComplete());
        const QRgb background = QColor(0x2b, 0x2d, 0x30).rgb() & 0xffffffu;
        int holes = 0;
        for (int y = 0; y < fallback.height(); ++y) {
            for (int x = 0; x < fallback.width(); ++x) {
                const QRgb p = fallback.pixel(x, y) & 0xffffffu;
                if (p == background || p == 0)
                    ++holes;
            }
        }
        QCOMPARE(holes, 0);
        QVERIFY(fallback != sharp);                         // blurrier...
        QVERIFY(meanAbsDifference(fallback, sharp) < 30.0); // ...but the same picture

        // With the budget back, the sharp frame returns.
        m_viewer->setCacheBudget(icmil::ui::TileCache::kDefaultBudget);
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete(), kSettleMs);
        QCOMPARE(mismatches(grab(*m_viewer), comparedArea(), expectedAt(0)), 0);
    }

    void layersPaintOverTheSlideInSlideCoordinates()
    {
        // A layer that fills one level-0 rectangle: wherever the view goes, it lands there.
        class Square : public icmil::ui::ViewLayer {
        public:
            void paint(QPainter &painter, const icmil::ui::ViewTransform &view, const QRectF &) override
            {
                painter.fillRect(view.slideToView(QRectF(1000, 800, 400, 400)), QColor(255, 0, 255));
            }
        };
        m_viewer->setSlide(m_source);
        m_viewer->setScale(2.0);
        m_viewer->centerOn(QPointF(1200.0, 1000.0));
        auto *square = new Square;
        m_viewer->addLayer(square);
        m_viewer->addLayer(square); // once only
        QCOMPARE(m_viewer->layers().size(), std::size_t{1});
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete(), kSettleMs);
        const QPoint inside = m_viewer->transform().slideToView(QPointF(1200.0, 1000.0)).toPoint();
        const QPoint outside = m_viewer->transform().slideToView(QPointF(900.0, 700.0)).toPoint();
        QImage image = grab(*m_viewer);
        QCOMPARE(image.pixel(inside) & 0xffffffu, 0xff00ffu);
        QVERIFY((image.pixel(outside) & 0xffffffu) != 0xff00ffu);
        QCOMPARE(m_viewer->renderView().pixel(inside * m_viewer->devicePixelRatioF()) & 0xffffffu, 0xff00ffu);

        square->setVisible(false);
        QVERIFY((grab(*m_viewer).pixel(inside) & 0xffffffu) != 0xff00ffu);
        square->setVisible(true);
        delete square; // removed with it
        QVERIFY(m_viewer->layers().empty());
        QVERIFY((grab(*m_viewer).pixel(inside) & 0xffffffu) != 0xff00ffu);
    }

    void keyboardNavigates()
    {
        m_viewer->setSlide(m_source);
        const icmil::ui::ViewTransform &view = std::as_const(*m_viewer).transform();
        const double fit = view.fitScale();
        QTest::keyClick(m_viewer.get(), Qt::Key_Plus);
        QCOMPARE(view.scale(), fit / 2.0);
        const QPointF centre = view.center();
        QTest::keyClick(m_viewer.get(), Qt::Key_Right);
        QVERIFY(view.center().x() > centre.x());
        QCOMPARE(view.center().y(), centre.y());
        QTest::keyClick(m_viewer.get(), Qt::Key_Minus);
        QCOMPARE(view.scale(), fit);
        m_viewer->setScale(1.0);
        m_viewer->centerOn(QPointF(100.0, 100.0));
        QTest::keyClick(m_viewer.get(), Qt::Key_0);
        QCOMPARE(view.scale(), fit);
        QCOMPARE(view.center(), QPointF(2048.0, 1536.0));
    }

    void wheelZoomKeepsThePointUnderTheCursor()
    {
        m_viewer->setSlide(m_source);
        m_viewer->setAnimated(true);
        m_viewer->setScale(2.0);
        m_viewer->centerOn(QPointF(2000.0, 1500.0));
        const QPointF cursor(200.0, 150.0);
        const QPointF under = std::as_const(*m_viewer).transform().viewToSlide(cursor);
        QSignalSpy changed(m_viewer.get(), &SlideViewer::viewChanged);
        for (int i = 0; i < 2; ++i) { // two quick notches accumulate into one eased zoom
            QWheelEvent wheel(cursor, m_viewer->mapToGlobal(cursor), QPoint(), QPoint(0, 120), Qt::NoButton, Qt::NoModifier,
                              Qt::NoScrollPhase, false);
            QCoreApplication::sendEvent(m_viewer.get(), &wheel);
        }
        const double target = 2.0 / (SlideViewer::kWheelStep * SlideViewer::kWheelStep);
        QTRY_COMPARE_WITH_TIMEOUT(std::as_const(*m_viewer).transform().scale(), target, 2000);
        QVERIFY(changed.count() >= 2); // eased: several steps, not one jump
        const QPointF now = std::as_const(*m_viewer).transform().viewToSlide(cursor);
        QVERIFY(std::abs(now.x() - under.x()) < 1e-6 && std::abs(now.y() - under.y()) < 1e-6);
    }

    void dragPansAndReportsTheCursor()
    {
        m_viewer->setSlide(m_source);
        m_viewer->setScale(2.0);
        m_viewer->centerOn(QPointF(2000.0, 1500.0));
        QSignalSpy cursor(m_viewer.get(), &SlideViewer::cursorMoved);
        auto send = [&](QEvent::Type type, QPointF pos, Qt::MouseButton button, Qt::MouseButtons buttons) {
            QMouseEvent event(type, pos, m_viewer->mapToGlobal(pos), button, buttons, Qt::NoModifier);
            QCoreApplication::sendEvent(m_viewer.get(), &event);
        };
        send(QEvent::MouseMove, QPointF(100, 100), Qt::NoButton, Qt::NoButton);
        QCOMPARE(cursor.count(), 1);
        QCOMPARE(cursor.takeFirst().at(0).toPointF(), QPointF(2000.0 - 220.0 * 2, 1500.0 - 140.0 * 2));
        send(QEvent::MouseButtonPress, QPointF(100, 100), Qt::LeftButton, Qt::LeftButton);
        send(QEvent::MouseMove, QPointF(150, 130), Qt::NoButton, Qt::LeftButton);
        send(QEvent::MouseButtonRelease, QPointF(150, 130), Qt::LeftButton, Qt::NoButton);
        QCOMPARE(std::as_const(*m_viewer).transform().center(), QPointF(2000.0 - 50 * 2, 1500.0 - 30 * 2));
    }

    void releasedDragGlidesOn()
    {
        m_viewer->setSlide(m_source);
        m_viewer->setAnimated(true);
        m_viewer->setScale(1.0);
        m_viewer->centerOn(QPointF(2000.0, 1500.0));
        const icmil::ui::ViewTransform &view = std::as_const(*m_viewer).transform();
        auto send = [&](QEvent::Type type, QPointF pos, Qt::MouseButton button, Qt::MouseButtons buttons) {
            QMouseEvent event(type, pos, m_viewer->mapToGlobal(pos), button, buttons, Qt::NoModifier);
            QCoreApplication::sendEvent(m_viewer.get(), &event);
        };
        QPointF pos(300, 200);
        send(QEvent::MouseButtonPress, pos, Qt::LeftButton, Qt::LeftButton);
        for (int i = 0; i < 4; ++i) { // a quick flick to the right: 40 px every ~10 ms
            QTest::qWait(10);
            pos += QPointF(40, 0);
            send(QEvent::MouseMove, pos, Qt::NoButton, Qt::LeftButton);
        }
        send(QEvent::MouseButtonRelease, pos, Qt::LeftButton, Qt::NoButton);
        const double atRelease = view.center().x();
        QCOMPARE(atRelease, 2000.0 - 160.0);                                  // the content followed the pointer exactly
        QTRY_VERIFY_WITH_TIMEOUT(view.center().x() < atRelease - 50.0, 2000); // and glides on
        const double gliding = view.center().x();
        QTest::qWait(icmil::ui::ViewAnimator::kGlideMs + 100);
        const double rest = view.center().x();
        QVERIFY(rest <= gliding);
        QTest::qWait(100);
        QCOMPARE(view.center().x(), rest); // then stops
        QCOMPARE(view.center().y(), 1500.0);
        QCOMPARE(rest, std::round(rest)); // in whole pixels at scale 1: the picture scrolls

        // A drag that stops before the release does not glide.
        send(QEvent::MouseButtonPress, pos, Qt::LeftButton, Qt::LeftButton);
        pos += QPointF(0, 30);
        send(QEvent::MouseMove, pos, Qt::NoButton, Qt::LeftButton);
        QTest::qWait(150);
        send(QEvent::MouseButtonRelease, pos, Qt::LeftButton, Qt::NoButton);
        const QPointF stopped = view.center();
        QTest::qWait(100);
        QCOMPARE(view.center(), stopped);
    }

    void quickFramesAreRefinedToTheFilteredPicture()
    {
        // A scale between levels: the first frame is drawn unfiltered, then filtered off the
        // GUI thread. The result must equal a filtered render made on the spot.
        m_viewer->setSlide(m_source);
        m_viewer->setScale(1.7);
        m_viewer->centerOn(QPointF(2100.0, 1500.0));
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete() && m_viewer->loader()->isIdle(), kSettleMs);
        m_viewer->setScale(1.7 * 1.0001); // same tiles, a new picture: drawn quickly, now
        QVERIFY(!grab(*m_viewer).isNull());
        QVERIFY(m_viewer->isFrameRough());
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete() && m_viewer->loader()->isIdle(), kSettleMs);
        QTRY_VERIFY_WITH_TIMEOUT((grab(*m_viewer), !m_viewer->isFrameRough()), kSettleMs); // refined
        const QImage refined = grab(*m_viewer);

        SlideViewer other;
        other.setAnimated(false);
        other.resize(kViewWidth, kViewHeight);
        other.show();
        QVERIFY(QTest::qWaitForWindowExposed(&other));
        other.setSlide(m_source);
        other.setScale(1.7);
        other.centerOn(QPointF(2100.0, 1500.0));
        other.setScale(1.7 * 1.0001);
        QTRY_VERIFY_WITH_TIMEOUT(other.isFrameComplete() && other.loader()->isIdle(), kSettleMs);
        const QImage direct = other.renderView().convertToFormat(QImage::Format_RGB32); // filtered now
        QCOMPARE(direct.size(), refined.size());
        QCOMPARE(mismatches(direct, comparedArea(), refined.copy(comparedArea())), 0);
    }

    void hiDpiFramesUseDevicePixels()
    {
        // At devicePixelRatio 2 the frame has twice the widget's pixels, and 2 level-0 pixels per
        // logical pixel put level 0 on screen 1:1 in DEVICE pixels: exactly the slide's pixels.
        const icmil::ui::TileGrid grid(m_source->metadata().levels, SlideViewer::kTileSize);
        icmil::ui::TileCache cache;
        icmil::ui::ViewFrame frame(grid, cache);
        icmil::ui::ViewTransform view(QSizeF(200, 150), 2.0, QSizeF(4096, 3072));
        view.setScale(2.0);
        view.setCenter(QPointF(1500.0, 1000.0)); // device top left: (1500 - 200, 1000 - 150)
        QCOMPARE(icmil::ui::TilePlanner::targetLevel(grid, view), 0);
        for (const icmil::ui::TileKey &key : icmil::ui::TilePlanner::visibleTargetTiles(grid, view)) {
            const QRect area = grid.levelRect(key);
            cache.insert(key, toImage(m_source->readRegion(0, grid.readX(key), grid.readY(key), area.width(), area.height())));
        }
        const QImage &picture = frame.update(view, 0, icmil::ui::ViewFrame::Quality::Fast);
        QCOMPARE(picture.size(), QSize(400, 300));
        QCOMPARE(picture.devicePixelRatio(), 2.0);
        QVERIFY(!frame.isRough()); // 1:1: nothing was resampled
        const QImage expected = toImage(m_source->readRegion(0, 1300, 850, 400, 300));
        QCOMPARE(mismatches(picture.convertToFormat(QImage::Format_RGB32), QRect(0, 0, 400, 300), expected), 0);
    }

    void pastNativeResolutionPixelsAreBlocksWithoutSeams()
    {
        // 4 screen pixels per level-0 pixel across a tile edge: every slide pixel is a 4 x 4
        // block of its own colour, also at the edge (filtering each tile alone showed seams).
        m_viewer->setSlide(m_source);
        m_viewer->setScale(0.25);
        const double edge = SlideViewer::kTileSize * 2; // a tile boundary, in the view's middle
        m_viewer->centerOn(QPointF(edge, edge));        // view top left: (edge - 80, edge - 60)
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete() && m_viewer->loader()->isIdle(), kSettleMs);
        QTRY_VERIFY_WITH_TIMEOUT((grab(*m_viewer), !m_viewer->isFrameRough()), kSettleMs);
        const QImage expected
            = toImage(m_source->readRegion(0, static_cast<std::int64_t>(edge) - 80, static_cast<std::int64_t>(edge) - 60, 160, 120))
                  .scaled(kViewWidth, kViewHeight, Qt::IgnoreAspectRatio, Qt::FastTransformation)
                  .convertToFormat(QImage::Format_RGB32);
        QCOMPARE(mismatches(grab(*m_viewer), comparedArea(), expected.copy(comparedArea())), 0); // clear of the scale bar
    }

    void theCursorReadoutFollowsKeysAndSlides()
    {
        // The mouse rests over the view while the keyboard zooms: the slide point under it is
        // reported again. Another slide under a mouse elsewhere: "nowhere".
        m_viewer->setSlide(m_source);
        m_viewer->setScale(2.0);
        m_viewer->centerOn(QPointF(2000.0, 1500.0));
        const QPoint mouse(100, 100);
        QCursor::setPos(m_viewer->mapToGlobal(mouse));
        QCOMPARE(m_viewer->mapFromGlobal(QCursor::pos()), mouse);
        QSignalSpy cursor(m_viewer.get(), &SlideViewer::cursorMoved);
        QTest::keyClick(m_viewer.get(), Qt::Key_Plus);
        QTRY_VERIFY(!cursor.isEmpty());
        QCOMPARE(cursor.last().at(0).toPointF(), std::as_const(*m_viewer).transform().viewToSlide(QPointF(mouse)));
        QCOMPARE(std::as_const(*m_viewer).transform().scale(), 1.0); // the keys zoomed: another point is under the mouse
        QCursor::setPos(m_viewer->mapToGlobal(QPoint(-50, -50)));
        cursor.clear();
        m_viewer->setSlide(m_source);
        QTRY_VERIFY(!cursor.isEmpty());
        QCOMPARE(cursor.last().at(0).toPointF(), QPointF(-1.0, -1.0));
    }

    void zoomIsShownWithoutAnObjective()
    {
        // A plain image has neither objective power nor mpp: the readout is the zoom itself.
        const fs::path png = icmil::test::scratchDir("tst_slideviewer") / "plain.png";
        QImage image(800, 600, QImage::Format_RGB32);
        image.fill(QColor(200, 120, 160));
        QVERIFY(image.save(QString::fromStdString(png.string())));
        m_viewer->setSlide(icmil::slide::SlideSource::open(png));
        QCOMPARE(m_viewer->objectivePower(), 0.0);
        m_viewer->setScale(0.5);
        QCOMPARE(m_viewer->magnificationText(), QStringLiteral("zoom 2.00x"));
        m_viewer->setScale(1.0);
        QCOMPARE(m_viewer->magnificationText(), QStringLiteral("zoom 1.00x"));
    }

    void magnificationPresetsStopAtTheObjective()
    {
        m_viewer->setSlide(m_source);
        QCOMPARE(m_viewer->objectivePower(), 20.0);
        QCOMPARE(m_viewer->magnificationPresets(), (std::vector<double>{1, 2, 5, 10, 20}));
        m_viewer->setMagnification(20.0);
        QCOMPARE(m_viewer->magnification(), 20.0);
        QCOMPARE(m_viewer->transform().scale(), 1.0);
        m_viewer->clear();
        QVERIFY(!m_viewer->hasSlide());
        QVERIFY(m_viewer->magnificationPresets().empty());
        QVERIFY(!m_viewer->isFrameComplete());
        QVERIFY(!grab(*m_viewer).isNull()); // paints the empty state
    }

    void scaleBarPicksRoundLengths()
    {
        // mpp 0.5: 0.5 µm per logical pixel at scale 1; the bar fits in 160 px.
        const ScaleBar atOne(0.5, 1.0);
        QCOMPARE(atOne.value(), 50.0);
        QCOMPARE(atOne.logicalLength(), 100.0);
        QCOMPARE(atOne.label(), QStringLiteral("50 µm"));
        const ScaleBar atFour(0.5, 4.0);
        QCOMPARE(atFour.label(), QStringLiteral("200 µm"));
        QCOMPARE(atFour.logicalLength(), 100.0);
        const ScaleBar atSixteen(0.5, 16.0);
        QCOMPARE(atSixteen.label(), QStringLiteral("1 mm"));
        QCOMPARE(atSixteen.logicalLength(), 125.0);
        const ScaleBar deep(0.5, 0.125);
        QCOMPARE(deep.label(), QStringLiteral("10 µm"));
        QCOMPARE(deep.logicalLength(), 160.0);
        const ScaleBar far(0.5, 100.0);
        QCOMPARE(far.label(), QStringLiteral("5 mm"));
        const ScaleBar pixels(std::nullopt, 2.0);
        QCOMPARE(pixels.label(), QStringLiteral("200 px"));
        QVERIFY(!pixels.inMicrometres());
        QVERIFY(!ScaleBar(0.5, 0.0).isValid());
        QCOMPARE(ScaleBar::niceBelow(1000.0), 1000.0);
        QCOMPARE(ScaleBar::niceBelow(999.0), 500.0);
        QCOMPARE(ScaleBar::niceBelow(0.3), 0.2);
        QCOMPARE(ScaleBar::niceBelow(0.0), 0.0);
    }

    void exportedViewHasTheOverlays()
    {
        m_viewer->setSlide(m_source);
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete(), kSettleMs);
        const QImage image = m_viewer->renderView();
        QCOMPARE(image.size(), QSize(kViewWidth, kViewHeight));
        // The scale bar is white, bottom left, over a dark backing.
        const ScaleBar bar = m_viewer->scaleBar();
        QVERIFY(bar.isValid());
        int white = 0;
        for (int y = kViewHeight - 40; y < kViewHeight - 10; ++y) {
            for (int x = 15; x < 15 + static_cast<int>(bar.logicalLength()); ++x)
                white += (image.pixel(x, y) & 0xffffffu) == 0xffffffu ? 1 : 0;
        }
        QVERIFY(white >= static_cast<int>(bar.logicalLength()) * 4);
    }
};

QTEST_MAIN(TstSlideViewer)
#include "tst_slideviewer.moc"
