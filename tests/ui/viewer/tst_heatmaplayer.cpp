// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/io/slidesource.h"
#include "slide/synthetic/syntheticslidewriter.h"
#include "ui/viewer/attentionheatmap.h"
#include "ui/viewer/heatmaplayer.h"
#include "ui/viewer/slideviewer.h"

#include "common/slidetestsupport.h"

#include <QElapsedTimer>
#include <QPaintEngine>
#include <QPainter>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <memory>

namespace fs = std::filesystem;
using icmil::ui::AttentionHeatmap;
using icmil::ui::Colormap;
using icmil::ui::HeatmapLayer;
using icmil::ui::HeatmapNormalisation;
using icmil::ui::HeatmapSettings;
using icmil::ui::SlideViewer;

namespace {

constexpr int kViewWidth = 640;
constexpr int kViewHeight = 480;
constexpr int kSettleMs = 20000;
constexpr std::int64_t kPatch = 256;

// Patches on a 256-pixel grid starting at (128, 64), 8 x 6 of them, the first one missing.
// Min-max normalised: patch "low" at (1152, 832) scores 0, its right neighbour "high" at
// (1408, 832) and the one below it at (1152, 1088) score 1, the rest in between.
const QPointF kLow(1152, 832);
const QPointF kHigh(1408, 832);
const QPointF kBelow(1152, 1088);

std::shared_ptr<const AttentionHeatmap> makeHeatmap()
{
    std::vector<AttentionHeatmap::Coord> coords;
    std::vector<float> raw;
    for (int row = 0; row < 6; ++row) {
        for (int column = 0; column < 8; ++column) {
            const std::int64_t x = 128 + column * kPatch;
            const std::int64_t y = 64 + row * kPatch;
            if (row == 0 && column == 0)
                continue;
            coords.push_back({x, y});
            const QPointF p(static_cast<double>(x), static_cast<double>(y));
            raw.push_back(p == kLow ? 0.0f : (p == kHigh || p == kBelow) ? 1.0f : 0.3f + 0.05f * static_cast<float>((row + column) % 8));
        }
    }
    HeatmapSettings settings;
    settings.normalisation = HeatmapNormalisation::MinMax;
    return std::make_shared<const AttentionHeatmap>(std::move(coords), kPatch, std::move(raw), settings);
}

// The colour (RGB) of `image` at a logical point: the device pixel under it, at any pixel ratio.
QRgb rgbAt(const QImage &image, QPointF logical)
{
    const double dpr = image.devicePixelRatio();
    return image.pixel(static_cast<int>(std::floor(logical.x() * dpr)), static_cast<int>(std::floor(logical.y() * dpr))) & 0xffffffu;
}

fs::path writeSlide(const fs::path &dir, const std::string &name, std::int64_t width, std::int64_t height, int levelFactor)
{
    icmil::slide::SyntheticSlideConfig config;
    config.width = width;
    config.height = height;
    config.seed = 11;
    config.levelFactor = levelFactor;
    config.slideId = name;
    const fs::path path = dir / (name + ".svs");
    icmil::slide::SyntheticSlideWriter(config).write(path, dir / (name + "_mask.png"), dir / (name + ".geojson"));
    return path;
}

// Counts what a painter asks of its device: proves a paint is one drawImage and nothing else.
class CountingEngine : public QPaintEngine {
public:
    int images = 0;
    int others = 0;
    bool begin(QPaintDevice *) override { return true; }
    bool end() override { return true; }
    void updateState(const QPaintEngineState &) override { }
    void drawPixmap(const QRectF &, const QPixmap &, const QRectF &) override { ++others; }
    void drawImage(const QRectF &, const QImage &, const QRectF &, Qt::ImageConversionFlags) override { ++images; }
    void drawRects(const QRectF *, int) override { ++others; }
    void drawPath(const QPainterPath &) override { ++others; }
    void drawPolygon(const QPointF *, int, PolygonDrawMode) override { ++others; }
    void drawTextItem(const QPointF &, const QTextItem &) override { ++others; }
    Type type() const override { return User; }
};

class CountingDevice : public QPaintDevice {
public:
    CountingEngine engine;
    QPaintEngine *paintEngine() const override { return const_cast<CountingEngine *>(&engine); }

protected:
    int metric(PaintDeviceMetric metric) const override
    {
        switch (metric) {
        case PdmWidth: return kViewWidth;
        case PdmHeight: return kViewHeight;
        case PdmDpiX:
        case PdmDpiY:
        case PdmPhysicalDpiX:
        case PdmPhysicalDpiY: return 96;
        case PdmDevicePixelRatio: return 1;
        case PdmDevicePixelRatioScaled: return static_cast<int>(devicePixelRatioFScale());
        default: return 32;
        }
    }
};

} // namespace

class TstHeatmapLayer : public QObject {
    Q_OBJECT
private:
    std::shared_ptr<const icmil::slide::SlideSource> m_regular; // downsamples 1, 4, 16
    std::shared_ptr<const icmil::slide::SlideSource> m_thirds;  // downsamples 1, 3, 9
    std::shared_ptr<const AttentionHeatmap> m_heatmap;
    std::unique_ptr<SlideViewer> m_viewer;
    std::unique_ptr<HeatmapLayer> m_layer;

    // The level a zoom picks on a screen of pixel ratio 1; on a HiDPI screen (the _hidpi run)
    // the viewer picks sharper levels, so the level is not checked there, only the alignment.
    int levelAtScreenRatioOne(int level) const { return m_viewer->devicePixelRatioF() == 1.0 ? level : m_viewer->targetLevel(); }

    QImage grab() { return m_viewer->grab().toImage().convertToFormat(QImage::Format_RGB32); }

    void show(const std::shared_ptr<const icmil::slide::SlideSource> &source, double scale, QPointF centre)
    {
        m_viewer->setSlide(source);
        if (scale > 0.0)
            m_viewer->setScale(scale);
        m_viewer->centerOn(centre);
        QTRY_VERIFY_WITH_TIMEOUT(m_viewer->isFrameComplete(), kSettleMs);
    }

    // Shows the view and checks both boundaries; false once the test has failed (stop there).
    bool alignedAt(const std::shared_ptr<const icmil::slide::SlideSource> &source, double scale, QPointF centre, const char *where)
    {
        show(source, scale, centre);
        if (!QTest::currentTestFailed())
            checkAlignment(where);
        return !QTest::currentTestFailed();
    }

    // The colour boundary on the line from patch `from`'s centre to patch `to`'s centre (a row or
    // a column): every pixel on it is one of the two cell colours (nearest neighbour, no blending),
    // and the first pixel of `to`'s colour is within one device pixel of the patch edge.
    void checkBoundary(QPointF from, QPointF to, const char *where)
    {
        const QImage shot = grab();
        const icmil::ui::ViewTransform &view = m_viewer->transform();
        const double dpr = shot.devicePixelRatio();
        const QRgb fromColour = Colormap().at(m_heatmap->hitAt(from)->score) & 0xffffffu;
        const QRgb toColour = Colormap().at(m_heatmap->hitAt(to)->score) & 0xffffffu;
        QVERIFY(fromColour != toColour);
        const bool horizontal = from.y() == to.y();
        const QPointF half(kPatch / 2.0, kPatch / 2.0);
        const QPointF start = view.slideToView(from + half) * dpr;
        const QPointF end = view.slideToView(to + half) * dpr;
        const double edge = (horizontal ? view.slideToView(to).x() : view.slideToView(to).y()) * dpr;
        // Across the line: three quarters into the patch, near the corner the tests centre on.
        const QPointF inside = view.slideToView(from + QPointF(0.75 * kPatch, 0.75 * kPatch)) * dpr;
        const int across = static_cast<int>(std::floor(horizontal ? inside.y() : inside.x()));
        // From one centre to the other, or as much of that as the view shows clear of the
        // overlays in its corners (magnification, scale bar).
        const int clear = static_cast<int>(80 * dpr);
        const int first = std::max(clear, static_cast<int>(std::ceil(horizontal ? start.x() : start.y())));
        const int last = std::min((horizontal ? shot.width() : shot.height()) - 1 - clear,
                                  static_cast<int>(std::floor(horizontal ? end.x() : end.y())));
        QVERIFY2(across >= 0 && across < (horizontal ? shot.height() : shot.width()), where);
        QVERIFY2(first + 2 < edge && edge < last - 2, where);
        std::optional<int> boundary;
        for (int i = first; i <= last; ++i) {
            const QRgb pixel = (horizontal ? shot.pixel(i, across) : shot.pixel(across, i)) & 0xffffffu;
            QVERIFY2(
                pixel == fromColour || pixel == toColour,
                qPrintable(
                    QStringLiteral("%1: pixel %2 is %3, neither cell colour").arg(QLatin1String(where)).arg(i).arg(QColor(pixel).name())));
            if (pixel == toColour && !boundary)
                boundary = i;
            if (boundary)
                QVERIFY2(pixel == toColour, where); // one boundary only
        }
        QVERIFY2(boundary, where);
        QVERIFY2(
            std::abs(*boundary - edge) <= 1.0,
            qPrintable(QStringLiteral("%1: colour changes at %2, patch edge at %3").arg(QLatin1String(where)).arg(*boundary).arg(edge)));
    }

    void checkAlignment(const char *where)
    {
        checkBoundary(kLow, kHigh, where); // the vertical edge x = 1408
        if (!QTest::currentTestFailed())
            checkBoundary(kLow, kBelow, where); // the horizontal edge y = 1088
    }

private Q_SLOTS:
    void initTestCase()
    {
        const fs::path dir = icmil::test::scratchDir("tst_heatmaplayer");
        m_regular = icmil::slide::SlideSource::open(writeSlide(dir, "regular", 2304, 1728, 4));
        m_thirds = icmil::slide::SlideSource::open(writeSlide(dir, "thirds", 4608, 3456, 3));
        QCOMPARE(m_thirds->levelCount(), 3);
        m_heatmap = makeHeatmap();
    }

    void init()
    {
        m_viewer = std::make_unique<SlideViewer>();
        m_viewer->setAnimated(false);
        m_viewer->resize(kViewWidth, kViewHeight);
        m_layer = std::make_unique<HeatmapLayer>();
        m_layer->setHeatmap(m_heatmap);
        m_layer->setOpacity(1.0);
        m_layer->setLegendVisible(false);
        m_viewer->addLayer(m_layer.get());
        m_viewer->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_viewer.get()));
    }

    void cleanup()
    {
        m_layer.reset();
        m_viewer.reset();
    }

    void highAttentionPatchShowsItsLutColour()
    {
        show(m_regular, 0.0, QPointF(1152, 864)); // fitted
        const auto hit = m_heatmap->hitAt(kHigh + QPointF(128, 128));
        QVERIFY(hit);
        QCOMPARE(hit->score, 1.0);
        const QPointF centre = m_viewer->transform().slideToView(hit->rect.center());
        QCOMPARE(rgbAt(grab(), centre), Colormap().at(hit->score) & 0xffffffu);
        const auto mid = m_heatmap->hitAt(QPointF(1700, 1000));
        QVERIFY(mid && mid->score > 0.0 && mid->score < 1.0);
        const QPointF midCentre = m_viewer->transform().slideToView(mid->rect.center());
        QCOMPARE(rgbAt(grab(), midCentre), Colormap().at(mid->score) & 0xffffffu);
    }

    void cellEdgesLandOnPatchEdges()
    {
        const QPointF corner(1408, 1088);
        QVERIFY(alignedAt(m_regular, 0.0, corner, "fitted"));
        QVERIFY(alignedAt(m_regular, 1.0, corner, "1:1"));
        QCOMPARE(m_viewer->targetLevel(), levelAtScreenRatioOne(0));
        QVERIFY(alignedAt(m_regular, 4.0, corner, "4x out"));
        QCOMPARE(m_viewer->targetLevel(), levelAtScreenRatioOne(1));
        QVERIFY(alignedAt(m_regular, 1.0, corner + QPointF(0.37, 0.81), "1:1, the edge off the pixel grid"));
        QVERIFY(alignedAt(m_regular, 0.3, corner, "zoomed in 3.3x"));
    }

    void cellEdgesLandOnPatchEdgesWithDownsamplesOfThree()
    {
        const QPointF corner(1408, 1088);
        const struct {
            double scale;
            int level;
            const char *name;
        } zooms[] = {{1.0, 0, "level 0 (1:1)"},
                     {3.0, 1, "level 1 (1:3)"},
                     {4.7, 1, "level 1 (1:4.7)"},
                     {9.0, 2, "level 2 (1:9)"},
                     {12.5, 2, "level 2 (1:12.5)"}};
        for (const auto &zoom : zooms) {
            QVERIFY(alignedAt(m_thirds, zoom.scale, corner, zoom.name));
            QCOMPARE(m_viewer->grid().level(zoom.level).downsample, std::pow(3.0, zoom.level));
            QCOMPARE(m_viewer->targetLevel(), levelAtScreenRatioOne(zoom.level));
        }
    }

    void renderViewHasHeatmapAndLegend()
    {
        show(m_regular, 0.0, QPointF(1152, 864));
        m_layer->setLegendVisible(true);
        const QRectF area(0, 0, kViewWidth, kViewHeight);
        const QRectF legend = m_layer->legendRect(area);
        // Bottom right, clear of the scale bar's corner (bottom left) and of the heatmap's centre.
        QVERIFY(legend.right() <= kViewWidth - 12 && legend.bottom() <= kViewHeight - 12);
        QVERIFY(legend.left() > 12 + icmil::ui::ScaleBar::kDefaultMaxLength + 12);
        const QImage view = m_viewer->renderView();
        const QRect bar = m_layer->legendBarRect(area).toRect();
        QCOMPARE(bar.width(), 160);
        const int y = bar.center().y();
        for (int x = 0; x < bar.width(); ++x)
            QCOMPARE(rgbAt(view, QPointF(bar.left() + x + 0.5, y)), Colormap().at(x / (bar.width() - 1.0)) & 0xffffffu);
        QCOMPARE(rgbAt(view, QPointF(bar.left() + 0.5, y)), Colormap().table().front() & 0xffffffu);
        QCOMPARE(rgbAt(view, QPointF(bar.right() + 0.5, y)), Colormap().table().back() & 0xffffffu);
        const QPointF centre = m_viewer->transform().slideToView(kHigh + QPointF(128, 128));
        QCOMPARE(rgbAt(view, centre), Colormap().at(1.0) & 0xffffffu);
        // A narrow view puts the legend at the top right instead of over the scale bar.
        const QRectF narrow = m_layer->legendRect(QRectF(0, 0, 320, 400));
        QCOMPARE(narrow.top(), 12.0);
        QCOMPARE(narrow.right(), 320.0 - 12.0);

        m_layer->setLegendVisible(false);
        const QImage plain = m_viewer->renderView();
        int same = 0;
        for (int x = 0; x < bar.width(); ++x)
            same += rgbAt(plain, QPointF(bar.left() + x + 0.5, y)) == rgbAt(view, QPointF(bar.left() + x + 0.5, y));
        QVERIFY(same < bar.width() / 2);
    }

    void thresholdHidesLowCellsAndIsMarkedOnTheLegend()
    {
        show(m_regular, 1.0, QPointF(1408, 1088));
        m_layer->setVisible(false);
        const QImage plain = m_viewer->renderView(); // the slide alone
        m_layer->setVisible(true);
        HeatmapSettings settings = m_heatmap->settings();
        settings.threshold = 0.5;
        QSignalSpy changed(m_layer.get(), &icmil::ui::ViewLayer::changed);
        m_layer->setHeatmap(m_heatmap->withSettings(settings));
        QCOMPARE(changed.count(), 1);
        m_layer->setLegendVisible(true);
        const QImage view = m_viewer->renderView();
        const icmil::ui::ViewTransform &transform = m_viewer->transform();
        const QPointF low = transform.slideToView(kLow + QPointF(128, 128));   // score 0: hidden
        const QPointF high = transform.slideToView(kHigh + QPointF(128, 128)); // score 1: drawn
        QCOMPARE(rgbAt(view, low), rgbAt(plain, low));
        QCOMPARE(rgbAt(view, high), Colormap().at(1.0) & 0xffffffu);
        const QRectF bar = m_layer->legendBarRect(QRectF(0, 0, kViewWidth, kViewHeight));
        const double mark = std::round(bar.left() + 0.5 * (bar.width() - 1));
        QCOMPARE(rgbAt(view, QPointF(mark - 0.5, bar.center().y())), QRgb(0xffffffu));
        QCOMPARE(rgbAt(view, QPointF(mark - 8.5, bar.center().y())),
                 Colormap().at((mark - 9 - bar.left()) / (bar.width() - 1)) & 0xffffffu);
        m_layer->setHeatmap(m_heatmap);
    }

    void hiddenLayerLeavesTheSlideAndOpacityBlends()
    {
        show(m_regular, 1.0, kHigh + QPointF(128, 128));
        const QPointF centre = m_viewer->transform().slideToView(kHigh + QPointF(128, 128));
        const QImage opaque = m_viewer->renderView();
        m_layer->setVisible(false);
        const QImage hidden = m_viewer->renderView();
        m_viewer->removeLayer(m_layer.get());
        const QImage without = m_viewer->renderView();
        QCOMPARE(hidden, without);
        QVERIFY(opaque != without);
        QVERIFY(rgbAt(hidden, centre) != (Colormap().at(1.0) & 0xffffffu));

        m_viewer->addLayer(m_layer.get());
        m_layer->setVisible(true);
        m_layer->setOpacity(0.5);
        QCOMPARE(m_layer->opacity(), 0.5);
        const QImage blended = m_viewer->renderView();
        const QRgb lut = Colormap().at(1.0);
        for (const QPointF p : {centre, centre + QPointF(-60, 40), centre + QPointF(50, -70)}) {
            const QRgb base = rgbAt(without, p);
            const QRgb mixed = rgbAt(blended, p);
            QVERIFY2(std::abs(qRed(mixed) - (qRed(base) + qRed(lut)) / 2) <= 2
                         && std::abs(qGreen(mixed) - (qGreen(base) + qGreen(lut)) / 2) <= 2
                         && std::abs(qBlue(mixed) - (qBlue(base) + qBlue(lut)) / 2) <= 2,
                     qPrintable(QStringLiteral("%1 over %2 at half opacity gave %3")
                                    .arg(QColor(lut).name(), QColor(base).name(), QColor(mixed).name())));
        }
        QSignalSpy changed(m_layer.get(), &icmil::ui::ViewLayer::changed);
        m_layer->setOpacity(0.5);
        QCOMPARE(changed.count(), 0);
        m_layer->setOpacity(2.0);
        QCOMPARE(m_layer->opacity(), 1.0);
        QCOMPARE(changed.count(), 1);
    }

    void aPaintOnlyDrawsTheCellImage()
    {
        QCOMPARE(HeatmapLayer::cellsPerDraw(16.0), 128); // 128 * 16^2 / 65536 = 0.5 px of drift
        QCOMPARE(HeatmapLayer::cellsPerDraw(71.1), 6);
        QCOMPARE(HeatmapLayer::cellsPerDraw(181.0), 1);
        QCOMPARE(HeatmapLayer::cellsPerDraw(5000.0), 1);
        QVERIFY(HeatmapLayer::cellsPerDraw(0.01) > 1000000);

        icmil::ui::ViewTransform view(QSizeF(kViewWidth, kViewHeight), 1.0, QSizeF(2304, 1728));
        const qint64 key = m_heatmap->cellImage().cacheKey();
        const struct {
            double scale;
            int images; // drawImage calls: one run of cells per cellsPerDraw(256 / scale)
        } zooms[] = {{7.2, 1}, {view.fitScale(), 2}, {1.0, 4 * 2}, {0.2, 2 * 2}}; // columns x rows in view at 1 and 0.2
        for (const auto &zoom : zooms) {
            view.setScale(zoom.scale);
            view.setCenter(QPointF(1408, 1088));
            CountingDevice device;
            QPainter painter(&device);
            m_layer->paint(painter, view, QRectF(0, 0, kViewWidth, kViewHeight));
            painter.end();
            QCOMPARE(device.engine.images, zoom.images);
            QCOMPARE(device.engine.others, 0);
        }
        QCOMPARE(m_heatmap->cellImage().cacheKey(), key); // the same picture, never recomputed
        // Nothing of the heatmap in view: nothing drawn.
        view.setScale(0.2);
        view.setCenter(QPointF(10, 10));
        CountingDevice device;
        QPainter painter(&device);
        m_layer->paint(painter, view, QRectF(0, 0, kViewWidth, kViewHeight));
        painter.end();
        QCOMPARE(device.engine.images + device.engine.others, 0);
    }

    void paintCostOnAWholeSlide()
    {
        // A 100k x 80k slide tiled by 256-pixel patches: 390 x 312 cells, 121,680 patches.
        std::vector<AttentionHeatmap::Coord> coords;
        std::vector<float> raw;
        for (std::int64_t y = 0; y + kPatch <= 80000; y += kPatch)
            for (std::int64_t x = 0; x + kPatch <= 100000; x += kPatch) {
                coords.push_back({x, y});
                raw.push_back(static_cast<float>(std::sin(static_cast<double>(x) * 1e-4) * std::cos(static_cast<double>(y) * 1e-4)));
            }
        QElapsedTimer built;
        built.start();
        auto heatmap = std::make_shared<const AttentionHeatmap>(std::move(coords), kPatch, std::move(raw));
        const qint64 buildMs = built.elapsed();
        HeatmapLayer layer;
        layer.setHeatmap(heatmap);
        layer.setOpacity(0.6); // the translucent case: dearer than opaque (blending, not copying)
        QImage target(1920, 1080, QImage::Format_RGB32);
        icmil::ui::ViewTransform view(QSizeF(1920, 1080), 1.0, QSizeF(100000, 80000));
        QString report = QStringLiteral("%1 patches built in %2 ms; paint of a 1920x1080 view:").arg(heatmap->patchCount()).arg(buildMs);
        for (const double scale : {view.fitScale(), 16.0, kPatch / 181.0, 1.0, 0.25}) {
            view.setScale(scale);
            view.setCenter(QPointF(50000, 40000));
            QPainter painter(&target);
            QElapsedTimer timer;
            timer.start();
            constexpr int kPaints = 20;
            for (int i = 0; i < kPaints; ++i)
                layer.paint(painter, view, QRectF(target.rect()));
            const double ms = static_cast<double>(timer.nsecsElapsed()) / 1e6 / kPaints;
            report += QStringLiteral(" %1 px/cell %2 ms (%3 cells/draw);")
                          .arg(kPatch / scale, 0, 'f', 1)
                          .arg(ms, 0, 'f', 2)
                          .arg(HeatmapLayer::cellsPerDraw(kPatch / scale));
            QVERIFY2(ms < 100.0, qPrintable(report)); // generous: a paint is a few ms on a 2-core machine
        }
        qInfo().noquote() << report;
    }
};

QTEST_MAIN(TstHeatmapLayer)
#include "tst_heatmaplayer.moc"
