// SPDX-License-Identifier: GPL-3.0-or-later
// TileBufferPool: tile pixel buffers come back when the last QImage copy goes, are reused for the
// next tile of that size, and free ones are bounded in bytes.
#include "ui/viewer/tilebufferpool.h"

#include <QtTest>

#include <thread>
#include <vector>

using icmil::ui::TileBufferPool;

namespace {
constexpr std::size_t kTileBytes = 256 * 256 * 4;
}

class TstTileBufferPool : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void imagesAreUnpaddedAndWritable()
    {
        TileBufferPool pool;
        QImage image = pool.image(256, 200);
        QCOMPARE(image.size(), QSize(256, 200));
        QCOMPARE(image.format(), QImage::Format_ARGB32_Premultiplied);
        QCOMPARE(image.bytesPerLine(), qsizetype{256 * 4});
        QCOMPARE(reinterpret_cast<std::uintptr_t>(image.constBits()) % 64, std::uintptr_t{0});
        const uchar *before = image.constBits();
        image.fill(qRgb(1, 2, 3));
        QCOMPARE(image.constBits(), before); // written in place, not detached into a copy
        QCOMPARE(image.pixel(255, 199), qRgb(1, 2, 3));
        QVERIFY(pool.image(0, 10).isNull());
    }

    void lastCopyGivesTheBufferBack()
    {
        TileBufferPool pool;
        const uchar *pixels = nullptr;
        {
            QImage image = pool.image(256, 256);
            pixels = image.constBits();
            const QImage copy = image; // shared: the buffer comes back only when both are gone
            image = QImage();
            QCOMPARE(pool.freeBytes(), std::size_t{0});
            QCOMPARE(copy.constBits(), pixels);
        }
        QCOMPARE(pool.freeBytes(), kTileBytes);
        const QImage again = pool.image(256, 256);
        QCOMPARE(again.constBits(), pixels);
        QCOMPARE(pool.reused(), std::uint64_t{1});
        QCOMPARE(pool.allocated(), std::uint64_t{1});
        QCOMPARE(pool.freeBytes(), std::size_t{0});
        // Another size is not served from it.
        const QImage edge = pool.image(100, 256);
        QCOMPARE(pool.allocated(), std::uint64_t{2});
    }

    void formatIsPerImage()
    {
        TileBufferPool pool;
        {
            QImage opaque = pool.image(64, 64);
            QVERIFY(opaque.reinterpretAsFormat(QImage::Format_RGB32));
        }
        QCOMPARE(pool.image(64, 64).format(), QImage::Format_ARGB32_Premultiplied);
        QCOMPARE(pool.image(64, 64, QImage::Format_RGB32).format(), QImage::Format_RGB32);
    }

    void freeBuffersAreBounded()
    {
        TileBufferPool pool(3 * kTileBytes);
        {
            std::vector<QImage> tiles;
            for (int i = 0; i < 5; ++i)
                tiles.push_back(pool.image(256, 256));
        }
        QCOMPARE(pool.freeBytes(), 3 * kTileBytes); // two were released to the system
        for (int i = 0; i < 5; ++i)
            (void)pool.image(256, 256);
        QCOMPARE(pool.reused(), std::uint64_t{5}); // each came back before the next was asked for
    }

    void imagesMayDieOnAnyThread()
    {
        TileBufferPool pool(std::size_t{64} << 20);
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&pool, t] {
                for (int i = 0; i < 500; ++i) {
                    QImage image = pool.image(256, 256);
                    image.fill(static_cast<uint>(t * 1000 + i));
                    const QImage handedOver = image; // as a delivery to another thread would
                    image = QImage();
                }
            });
        }
        for (std::thread &thread : threads)
            thread.join();
        QCOMPARE(pool.reused() + pool.allocated(), std::uint64_t{2000});
        QVERIFY(pool.allocated() <= 4);
        QCOMPARE(pool.freeBytes(), pool.allocated() * kTileBytes);
    }
};

QTEST_GUILESS_MAIN(TstTileBufferPool)
#include "tst_tilebufferpool.moc"
