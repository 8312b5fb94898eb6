// SPDX-License-Identifier: GPL-3.0-or-later
// TileLoader: tiles read on worker threads arrive as QImages equal to SlideSource's pixels;
// a new request drops the stale queue; read errors arrive as tileFailed; destruction is prompt.
#include "ui/viewer/tileloader.h"

#include "slide/slideerror.h"
#include "slide/io/slidesource.h"
#include "slide/synthetic/syntheticslidewriter.h"

#include <QElapsedTimer>
#include <QMap>
#include <QSet>
#include <QSignalSpy>
#include "common/slidetestsupport.h"

#include <QtTest>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

namespace fs = std::filesystem;
using icmil::slide::LevelInfo;
using icmil::slide::RgbaImage;
using icmil::slide::SlideError;
using icmil::slide::SlideMetadata;
using icmil::slide::SlideSource;
using icmil::ui::TileGrid;
using icmil::ui::TileKey;
using icmil::ui::TileLoader;

namespace {

std::vector<TileKey> allTiles(const TileGrid &grid, int level)
{
    std::vector<TileKey> tiles;
    for (int row = 0; row < grid.rows(level); ++row) {
        for (int col = 0; col < grid.columns(level); ++col)
            tiles.push_back(TileKey{level, col, row});
    }
    return tiles;
}

QString str(const TileKey &k)
{
    return QStringLiteral("L%1 c%2 r%3").arg(k.level).arg(k.col).arg(k.row);
}

// Empty when `image` holds exactly the RGBA pixels, otherwise where it differs.
QString pixelDifference(const QImage &image, const RgbaImage &rgba)
{
    if (image.width() != rgba.width || image.height() != rgba.height)
        return QStringLiteral("size %1x%2 != %3x%4").arg(image.width()).arg(image.height()).arg(rgba.width).arg(rgba.height);
    if (image.format() != QImage::Format_RGB32 && image.format() != QImage::Format_ARGB32_Premultiplied)
        return QStringLiteral("unexpected format %1").arg(image.format());
    const bool premultiplied = image.format() == QImage::Format_ARGB32_Premultiplied;
    for (int y = 0; y < rgba.height; ++y) {
        const auto *line = reinterpret_cast<const QRgb *>(image.constScanLine(y));
        for (int x = 0; x < rgba.width; ++x) {
            const std::uint8_t *p = rgba.pixel(x, y);
            // RGB32 only for opaque pixels; premultiplied compared as stored (no lossy round trip).
            const QRgb straight = qRgba(p[0], p[1], p[2], p[3]);
            const QRgb expected = premultiplied ? qPremultiply(straight) : straight;
            if (line[x] != expected)
                return QStringLiteral("pixel (%1, %2): %3 != %4").arg(x).arg(y).arg(line[x], 8, 16).arg(expected, 8, 16);
        }
    }
    return {};
}

TileKey keyOf(const QList<QVariant> &signalArguments)
{
    return signalArguments.at(0).value<TileKey>();
}

// A SlideSource whose reads block until the test opens the gate (or take a fixed time), so the
// queue's state at each request is known exactly. Pixels encode the read position.
class ScriptedSource : public SlideSource {
public:
    explicit ScriptedSource(std::vector<LevelInfo> levels) : SlideSource("scripted.svs", metadataOf(std::move(levels))) { }

    std::string backendName() const override { return "scripted"; }

    void setGateOpen(bool open)
    {
        {
            const std::lock_guard lock(m_mutex);
            m_open = open;
        }
        m_changed.notify_all();
    }
    void setReadDelay(std::chrono::milliseconds delay) { m_delay = delay; }
    void failReadsAt(std::int64_t x) { m_failX = x; }
    int reads() const
    {
        const std::lock_guard lock(m_mutex);
        return m_reads;
    }

protected:
    RgbaImage doReadRegion(int level, std::int64_t x, std::int64_t y, int w, int h) const override
    {
        {
            std::unique_lock lock(m_mutex);
            ++m_reads;
            m_changed.wait(lock, [this] { return m_open; });
        }
        if (m_delay.count() > 0)
            std::this_thread::sleep_for(m_delay); // simulated slow storage, not synchronisation
        if (x == m_failX)
            throw SlideError(regionContext(level, x, y, w, h) + ": scripted failure");
        RgbaImage image(w, h);
        for (std::size_t i = 0; i < image.pixels.size(); i += 4) {
            image.pixels[i] = static_cast<std::uint8_t>(level * 50);
            image.pixels[i + 1] = static_cast<std::uint8_t>(x / 256);
            image.pixels[i + 2] = static_cast<std::uint8_t>(y / 256);
            image.pixels[i + 3] = 255;
        }
        return image;
    }
    RgbaImage doReadAssociatedImage(const std::string &) const override { return {}; }

private:
    static SlideMetadata metadataOf(std::vector<LevelInfo> levels)
    {
        SlideMetadata metadata;
        metadata.vendor = "scripted";
        metadata.levels = std::move(levels);
        return metadata;
    }

    mutable std::mutex m_mutex;
    mutable std::condition_variable m_changed;
    bool m_open = true;
    mutable int m_reads = 0;
    std::chrono::milliseconds m_delay{0};
    std::int64_t m_failX = -1;
};

// Opens the gate when a test leaves, before the loader (declared after it) joins its workers.
struct GateOpener {
    ScriptedSource &source;
    ~GateOpener() { source.setGateOpen(true); }
};

const std::vector<LevelInfo> kScriptedLevels{{8192, 8192, 1.0}, {2048, 2048, 4.0}, {512, 512, 16.0}};

} // namespace

class TstTileLoader : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    fs::path m_slide;    // 4096 x 3072, levels 4x apart
    fs::path m_oddSlide; // 3001 x 2003, levels 3x apart (odd downsamples)

    static fs::path writeSlide(const fs::path &dir, const std::string &name, std::int64_t w, std::int64_t h, int factor)
    {
        icmil::slide::SyntheticSlideConfig config;
        config.width = w;
        config.height = h;
        config.seed = 7;
        config.positive = true;
        config.levelFactor = factor;
        config.slideId = name;
        const fs::path slide = dir / (name + ".svs");
        icmil::slide::SyntheticSlideWriter(config).write(slide, dir / (name + "_mask.png"), dir / (name + ".geojson"));
        return slide;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = icmil::test::scratchDir("tst_tileloader");
        m_slide = writeSlide(m_dir, "loader", 4096, 3072, 4);
        m_oddSlide = writeSlide(m_dir, "loader_odd", 3001, 2003, 3);
    }

    void deliversTheSlidesPixelsAtEveryLevel_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("4x pyramid") << QStringLiteral("loader.svs");
        QTest::newRow("3x pyramid, odd size") << QStringLiteral("loader_odd.svs");
    }

    void deliversTheSlidesPixelsAtEveryLevel()
    {
        QFETCH(QString, file);
        const std::shared_ptr<const SlideSource> source = SlideSource::open(m_dir / file.toStdString());
        QVERIFY(source->levelCount() >= 3);
        const TileGrid grid(source->metadata().levels);
        std::vector<TileKey> wanted;
        for (int level = 0; level < grid.levelCount(); ++level) {
            const std::vector<TileKey> tiles = allTiles(grid, level);
            wanted.insert(wanted.end(), tiles.begin(), tiles.end());
        }
        TileLoader loader(source, grid, 2);
        QCOMPARE(loader.threadCount(), 2);
        QSignalSpy loaded(&loader, &TileLoader::tileLoaded);
        QSignalSpy failed(&loader, &TileLoader::tileFailed);
        QSignalSpy idle(&loader, &TileLoader::idle);
        loader.request(wanted);
        QTRY_COMPARE_WITH_TIMEOUT(idle.count(), 1, 20000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(1).toString()));
        QCOMPARE(loaded.count(), static_cast<int>(wanted.size()));
        QCOMPARE(loader.read(), static_cast<std::uint64_t>(wanted.size()));
        QCOMPARE(loader.dropped(), std::uint64_t{0});
        QVERIFY(loader.isIdle());
        QSet<TileKey> seen;
        for (const QList<QVariant> &args : loaded) {
            const TileKey key = keyOf(args);
            QVERIFY2(!seen.contains(key), qPrintable(QStringLiteral("delivered twice: ") + str(key)));
            seen.insert(key);
            const QImage image = args.at(1).value<QImage>();
            QCOMPARE(image.format(), QImage::Format_RGB32); // synthetic slides are opaque
            const QRect r = grid.levelRect(key);
            const RgbaImage expected = source->readRegion(key.level, grid.readX(key), grid.readY(key), r.width(), r.height());
            const QString difference = pixelDifference(image, expected);
            QVERIFY2(difference.isEmpty(), qPrintable(str(key) + QStringLiteral(": ") + difference));
        }
    }

    void transparentPixelsArrivePremultiplied()
    {
        // A plain RGBA PNG with a translucent pixel (the image backend).
        QImage png(40, 30, QImage::Format_RGBA8888);
        png.fill(QColor(200, 100, 50, 255));
        png.setPixelColor(3, 4, QColor(200, 100, 50, 128));
        const fs::path path = m_dir / "translucent.png";
        QVERIFY(png.save(QString::fromStdString(path.string())));
        const std::shared_ptr<const SlideSource> image = SlideSource::open(path);
        const TileGrid grid(image->metadata().levels);
        TileLoader loader(image, grid, 1);
        QSignalSpy loaded(&loader, &TileLoader::tileLoaded);
        loader.request({TileKey{0, 0, 0}});
        QTRY_COMPARE(loaded.count(), 1);
        const QImage tile = loaded.first().at(1).value<QImage>();
        // The image backend keeps the alpha channel as the file has it (straight RGBA)...
        const RgbaImage expected = image->readRegion(0, 0, 0, 40, 30);
        const std::uint8_t *translucent = expected.pixel(3, 4);
        QCOMPARE(QColor(translucent[0], translucent[1], translucent[2], translucent[3]), QColor(200, 100, 50, 128));
        QCOMPARE(int(expected.pixel(0, 0)[3]), 255);
        // ... and the tile carries it premultiplied, the translucent pixel included.
        QCOMPARE(tile.format(), QImage::Format_ARGB32_Premultiplied);
        QCOMPARE(pixelDifference(tile, expected), QString());
        QCOMPARE(reinterpret_cast<const QRgb *>(tile.constScanLine(4))[3], qPremultiply(qRgba(200, 100, 50, 128)));
    }

    void newRequestDropsTheStaleQueue()
    {
        auto source = std::make_shared<ScriptedSource>(kScriptedLevels);
        const TileGrid grid(kScriptedLevels);
        source->setGateOpen(false);
        TileLoader loader(source, grid, 2);
        GateOpener opener{*source};
        QSignalSpy loaded(&loader, &TileLoader::tileLoaded);
        QSignalSpy idle(&loader, &TileLoader::idle);

        const std::vector<TileKey> stale = allTiles(grid, 0); // 32 x 32 tiles
        loader.request(stale);
        QTRY_COMPARE(loader.inFlight(), 2); // both workers hold one tile, blocked in the read
        QCOMPARE(loader.queued(), 1022);
        const std::vector<TileKey> fresh{TileKey{1, 3, 3}, TileKey{1, 4, 3}, TileKey{2, 0, 0}};
        loader.request(fresh);
        QCOMPARE(loader.dropped(), std::uint64_t{1022});
        QCOMPARE(loader.queued(), 3);
        source->setGateOpen(true);
        QTRY_COMPARE(idle.count(), 1);
        // The two tiles already being read still arrive (they will be cached), then the new ones;
        // none of the dropped tiles is ever read or delivered.
        QCOMPARE(loaded.count(), 5);
        QCOMPARE(source->reads(), 5);
        QCOMPARE(loader.read(), std::uint64_t{5});
        QSet<TileKey> arrived;
        for (const QList<QVariant> &args : loaded)
            arrived.insert(keyOf(args));
        for (const TileKey &key : fresh)
            QVERIFY2(arrived.contains(key), qPrintable(str(key)));
        QCOMPARE(arrived.size(), 5);
        int staleArrived = 0;
        for (const TileKey &key : stale)
            staleArrived += arrived.contains(key) ? 1 : 0;
        QCOMPARE(staleArrived, 2);
        QVERIFY(loader.isIdle());
    }

    void readsInTheOrderAskedFor()
    {
        // One worker: tiles are read in exactly the order of the newest request.
        auto source = std::make_shared<ScriptedSource>(kScriptedLevels);
        const TileGrid grid(kScriptedLevels);
        source->setGateOpen(false);
        TileLoader loader(source, grid, 1);
        GateOpener opener{*source};
        QSignalSpy loaded(&loader, &TileLoader::tileLoaded);
        QSignalSpy idle(&loader, &TileLoader::idle);
        const TileKey t1{0, 1, 1}, t2{0, 2, 1}, t3{0, 3, 1}, t4{0, 4, 1}, t5{0, 5, 1};
        loader.request({t1, t2, t3, t4, t5});
        QTRY_COMPARE(loader.inFlight(), 1);
        loader.request({t5, t4, t3}); // reordered: not dropped; t2 is
        QCOMPARE(loader.dropped(), std::uint64_t{1});
        source->setGateOpen(true);
        QTRY_COMPARE(idle.count(), 1);
        QCOMPARE(loaded.count(), 4);
        const std::vector<TileKey> order{keyOf(loaded.at(0)), keyOf(loaded.at(1)), keyOf(loaded.at(2)), keyOf(loaded.at(3))};
        QVERIFY(order == (std::vector<TileKey>{t1, t5, t4, t3}));
    }

    void staleRequestOnARealSlide()
    {
        // The same on OpenSlide, without a gate: many tiles asked for, then a different small set
        // at once. Tiles are counted exactly once: delivered (already being read) or dropped.
        const std::shared_ptr<const SlideSource> source = SlideSource::open(m_slide);
        const TileGrid grid(source->metadata().levels);
        TileLoader loader(source, grid, 2);
        QSignalSpy loaded(&loader, &TileLoader::tileLoaded);
        QSignalSpy idle(&loader, &TileLoader::idle);
        const std::vector<TileKey> stale = allTiles(grid, 0); // 16 x 12
        loader.request(stale);
        const std::vector<TileKey> fresh{TileKey{1, 0, 0}, TileKey{1, 3, 2}, TileKey{2, 0, 0}};
        loader.request(fresh);
        QVERIFY(loader.dropped() > 0);
        QTRY_COMPARE_WITH_TIMEOUT(idle.count(), 1, 10000);
        QSet<TileKey> arrived;
        for (const QList<QVariant> &args : loaded) {
            QVERIFY(!arrived.contains(keyOf(args)));
            arrived.insert(keyOf(args));
        }
        for (const TileKey &key : fresh)
            QVERIFY(arrived.contains(key));
        const auto staleArrived = static_cast<std::uint64_t>(arrived.size()) - fresh.size();
        QCOMPARE(staleArrived + loader.dropped(), static_cast<std::uint64_t>(stale.size()));
        // Idle means nothing is queued or in flight: nothing more can arrive.
        QCoreApplication::processEvents();
        QCOMPARE(loaded.count(), arrived.size());
        QVERIFY(loader.isIdle());
    }

    void requestNeverDuplicatesATile()
    {
        auto source = std::make_shared<ScriptedSource>(kScriptedLevels);
        const TileGrid grid(kScriptedLevels);
        source->setGateOpen(false);
        TileLoader loader(source, grid, 2);
        GateOpener opener{*source};
        QSignalSpy loaded(&loader, &TileLoader::tileLoaded);
        QSignalSpy idle(&loader, &TileLoader::idle);
        const TileKey a{0, 0, 0}, b{0, 1, 0}, c{0, 2, 0}, d{0, 3, 0};
        loader.request({a, b, c, c, a});
        QTRY_COMPARE(loader.inFlight(), 2); // a and b
        QCOMPARE(loader.queued(), 1);       // c once
        loader.request({a, c, c, d, b, d}); // a, b being read; c stays; d is new
        QCOMPARE(loader.dropped(), std::uint64_t{0});
        QCOMPARE(loader.queued(), 2);
        source->setGateOpen(true);
        QTRY_COMPARE(idle.count(), 1);
        QCOMPARE(loaded.count(), 4);
        QCOMPARE(source->reads(), 4);
        QSet<TileKey> arrived;
        for (const QList<QVariant> &args : loaded)
            arrived.insert(keyOf(args));
        QCOMPARE(arrived, (QSet<TileKey>{a, b, c, d}));
    }

    void cancelAllKeepsWhatIsInFlight()
    {
        auto source = std::make_shared<ScriptedSource>(kScriptedLevels);
        const TileGrid grid(kScriptedLevels);
        source->setGateOpen(false);
        TileLoader loader(source, grid, 1);
        GateOpener opener{*source};
        QSignalSpy loaded(&loader, &TileLoader::tileLoaded);
        QSignalSpy idle(&loader, &TileLoader::idle);
        loader.request(allTiles(grid, 1));
        QTRY_COMPARE(loader.inFlight(), 1);
        loader.cancelAll();
        QCOMPARE(loader.queued(), 0);
        QCOMPARE(loader.dropped(), std::uint64_t{63});
        QVERIFY(!loader.isIdle());
        source->setGateOpen(true);
        QTRY_COMPARE(idle.count(), 1);
        QCOMPARE(loaded.count(), 1);
        QVERIFY(loader.isIdle());
        // Cancelling an idle loader changes nothing.
        loader.cancelAll();
        QCOMPARE(loader.dropped(), std::uint64_t{63});
    }

    void readErrorsArriveAsTileFailed()
    {
        // Overwrite the JPEG header of level 0's first tile: the slide opens, that read fails.
        const fs::path damaged = m_dir / "damaged.svs";
        QVERIFY(icmil::test::writeSlideWithDamagedFirstTile(m_slide, damaged));
        const std::shared_ptr<const SlideSource> source = SlideSource::open(damaged);
        const TileGrid grid(source->metadata().levels);
        TileLoader loader(source, grid, 2);
        QSignalSpy loaded(&loader, &TileLoader::tileLoaded);
        QSignalSpy failed(&loader, &TileLoader::tileFailed);
        QSignalSpy idle(&loader, &TileLoader::idle);
        loader.request({TileKey{0, 0, 0}});
        QTRY_COMPARE(idle.count(), 1);
        QCOMPARE(loaded.count(), 0);
        QCOMPARE(failed.count(), 1);
        QCOMPARE(keyOf(failed.first()), (TileKey{0, 0, 0}));
        QCOMPARE(failed.first().at(1).toString(),
                 QStringLiteral("Cannot read region (x=0, y=0, w=256, h=256) at level 0 of '%1': "
                                "Not a JPEG file: starts with 0x00 0x00")
                     .arg(QString::fromStdString(damaged.string())));
        QCOMPARE(loader.read(), std::uint64_t{0});
        QVERIFY(loader.isIdle());
    }

    void scriptedFailuresAndBadKeys()
    {
        auto source = std::make_shared<ScriptedSource>(kScriptedLevels);
        const TileGrid grid(kScriptedLevels);
        source->failReadsAt(512); // column 2 of level 0
        TileLoader loader(source, grid, 2);
        QSignalSpy loaded(&loader, &TileLoader::tileLoaded);
        QSignalSpy failed(&loader, &TileLoader::tileFailed);
        QSignalSpy idle(&loader, &TileLoader::idle);
        loader.request({TileKey{0, 1, 0}, TileKey{0, 2, 0}, TileKey{0, 3, 0}, TileKey{7, 0, 0}});
        QTRY_COMPARE(idle.count(), 1);
        QCOMPARE(loaded.count(), 2);
        QCOMPARE(failed.count(), 2);
        QMap<QString, QString> messages;
        for (const QList<QVariant> &args : failed)
            messages.insert(str(keyOf(args)), args.at(1).toString());
        QCOMPARE(messages.value(QStringLiteral("L0 c2 r0")),
                 QStringLiteral("Cannot read region (x=512, y=0, w=256, h=256) at level 0 of 'scripted.svs': "
                                "scripted failure"));
        QCOMPARE(messages.value(QStringLiteral("L7 c0 r0")), QStringLiteral("Tile (level 7, column 0, row 0) is outside the slide"));
        // A failed tile may be asked for again (the viewer decides whether to retry).
        loader.request({TileKey{0, 2, 0}});
        QTRY_COMPARE(failed.count(), 3);
    }

    void destructorWithQueuedWorkReturnsPromptly()
    {
        auto source = std::make_shared<ScriptedSource>(kScriptedLevels);
        source->setReadDelay(std::chrono::milliseconds(20)); // 1024 tiles: ~10 s if all were read
        const TileGrid grid(kScriptedLevels);
        QElapsedTimer timer;
        int readsBefore = 0;
        {
            auto loader = std::make_unique<TileLoader>(source, grid, 2);
            loader->request(allTiles(grid, 0));
            QTRY_COMPARE(loader->inFlight(), 2);
            readsBefore = source->reads();
            timer.start();
            loader.reset(); // the event loop is not running: results already posted are discarded
        }
        const qint64 ms = timer.elapsed();
        QVERIFY2(ms < 1000, qPrintable(QStringLiteral("destructor took %1 ms").arg(ms)));
        // Each worker finishes at most the tile it holds (and one it was just taking); the rest
        // of the 1024 is never read.
        QVERIFY2(source->reads() <= readsBefore + 2, qPrintable(QString::number(source->reads())));
        QCoreApplication::processEvents(); // nothing posted to the dead loader may run
        QCOMPARE(source.use_count(), 1);   // the workers are gone and released the source
    }
};

QTEST_GUILESS_MAIN(TstTileLoader)
#include "tst_tileloader.moc"
