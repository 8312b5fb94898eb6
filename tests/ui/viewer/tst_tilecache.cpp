// SPDX-License-Identifier: GPL-3.0-or-later
// TileCache: bounded in bytes, least recently used first, the pinned (coarsest) level kept.
#include "ui/viewer/tilecache.h"

#include <QtTest>

using icmil::ui::TileCache;
using icmil::ui::TileKey;

namespace {

// A 256 x 256 RGB32 tile: exactly 256 KiB.
constexpr std::int64_t kTileBytes = 256 * 256 * 4;

QImage tile(int side = 256, QRgb colour = qRgb(10, 20, 30))
{
    QImage image(side, side, QImage::Format_RGB32);
    image.fill(colour);
    return image;
}

} // namespace

class TstTileCache : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void defaults()
    {
        const TileCache cache;
        QCOMPARE(cache.budget(), std::int64_t{512} * 1024 * 1024);
        QCOMPARE(cache.bytes(), std::int64_t{0});
        QCOMPARE(cache.count(), 0);
        QCOMPARE(cache.pinnedLevel(), -1);
        QCOMPARE(cache.evictions(), std::uint64_t{0});
        QCOMPARE(tile().sizeInBytes(), qsizetype{kTileBytes});
    }

    void evictsByBytes()
    {
        TileCache cache(3 * kTileBytes);
        cache.insert(TileKey{0, 0, 0}, tile());
        cache.insert(TileKey{0, 1, 0}, tile());
        cache.insert(TileKey{0, 2, 0}, tile());
        QCOMPARE(cache.count(), 3);
        QCOMPARE(cache.bytes(), 3 * kTileBytes);
        QCOMPARE(cache.evictions(), std::uint64_t{0});
        cache.insert(TileKey{0, 3, 0}, tile());
        QCOMPARE(cache.count(), 3);
        QCOMPARE(cache.bytes(), 3 * kTileBytes);
        QCOMPARE(cache.evictions(), std::uint64_t{1});
        QVERIFY(!cache.contains(TileKey{0, 0, 0})); // the oldest went
        // Bytes, not tiles: one large tile displaces several small ones.
        TileCache bytes(kTileBytes);
        for (int i = 0; i < 4; ++i)
            bytes.insert(TileKey{0, i, 0}, tile(128)); // 64 KiB each
        QCOMPARE(bytes.count(), 4);
        bytes.insert(TileKey{0, 9, 9}, tile(208)); // 169 KiB: three 64 KiB ones must go
        QCOMPARE(bytes.count(), 2);
        QVERIFY(bytes.bytes() <= kTileBytes);
        QVERIFY(bytes.contains(TileKey{0, 3, 0}));
        QVERIFY(bytes.contains(TileKey{0, 9, 9}));
        QCOMPARE(bytes.evictions(), std::uint64_t{3});
    }

    void lruOrderAndFindTouches()
    {
        TileCache cache(3 * kTileBytes);
        const TileKey a{1, 0, 0}, b{1, 1, 0}, c{1, 2, 0}, d{1, 3, 0}, e{1, 4, 0};
        cache.insert(a, tile());
        cache.insert(b, tile());
        cache.insert(c, tile());
        QVERIFY(cache.find(a) != nullptr); // a is now the most recent: b is the oldest
        QVERIFY(cache.contains(b));        // contains() does not touch
        cache.insert(d, tile());
        QVERIFY(!cache.contains(b));
        QVERIFY(cache.contains(a));
        QVERIFY(cache.contains(c));
        cache.insert(e, tile()); // then c
        QVERIFY(!cache.contains(c));
        QVERIFY(cache.contains(a) && cache.contains(d) && cache.contains(e));
        QCOMPARE(cache.find(b), nullptr);
        // find() hands out the stored image.
        cache.insert(a, tile(256, qRgb(1, 2, 3)));
        const QImage *found = cache.find(a);
        QVERIFY(found != nullptr);
        QCOMPARE(found->pixel(5, 5), qRgb(1, 2, 3));
        QCOMPARE(cache.evictions(), std::uint64_t{2});
    }

    void replaceUpdatesBytesAndRecency()
    {
        TileCache cache(10 * kTileBytes);
        const TileKey a{0, 0, 0}, b{0, 1, 0};
        cache.insert(a, tile(128));
        cache.insert(b, tile());
        QCOMPARE(cache.bytes(), kTileBytes + kTileBytes / 4);
        cache.insert(a, tile()); // replaced: counted once, at the new size
        QCOMPARE(cache.count(), 2);
        QCOMPARE(cache.bytes(), 2 * kTileBytes);
        QCOMPARE(cache.find(a)->width(), 256);
        // Replacing made a the most recent: lowering the budget evicts b first.
        cache.insert(a, tile(256, qRgb(9, 9, 9)));
        cache.setBudget(kTileBytes);
        QVERIFY(cache.contains(a));
        QVERIFY(!cache.contains(b));
        QCOMPARE(cache.find(a)->pixel(0, 0), qRgb(9, 9, 9));
    }

    void pinnedLevelIsNeverEvicted()
    {
        TileCache cache(4 * kTileBytes);
        cache.setPinnedLevel(3);
        QCOMPARE(cache.pinnedLevel(), 3);
        cache.insert(TileKey{3, 0, 0}, tile()); // the oldest, but pinned
        cache.insert(TileKey{3, 1, 0}, tile());
        for (int i = 0; i < 10; ++i)
            cache.insert(TileKey{0, i, 0}, tile());
        QVERIFY(cache.contains(TileKey{3, 0, 0}));
        QVERIFY(cache.contains(TileKey{3, 1, 0}));
        QCOMPARE(cache.count(), 4); // pinned tiles count towards the budget
        QCOMPARE(cache.bytes(), 4 * kTileBytes);
        QVERIFY(cache.contains(TileKey{0, 9, 0}));
        QVERIFY(cache.contains(TileKey{0, 8, 0}));
        QCOMPARE(cache.evictions(), std::uint64_t{8});
        // A budget below the pinned bytes keeps only the pinned tiles.
        cache.setBudget(kTileBytes);
        QCOMPARE(cache.count(), 2);
        QCOMPARE(cache.bytes(), 2 * kTileBytes);
        QVERIFY(cache.bytes() > cache.budget());
        QCOMPARE(cache.evictions(), std::uint64_t{10});
        // Unpinning makes them ordinary tiles again, evicted at once when over budget.
        cache.setPinnedLevel(-1);
        QCOMPARE(cache.count(), 1);
        QVERIFY(cache.contains(TileKey{3, 1, 0}));
    }

    void loweringTheBudgetEvictsAtOnce()
    {
        TileCache cache(100 * kTileBytes);
        for (int i = 0; i < 50; ++i)
            cache.insert(TileKey{0, i, 0}, tile());
        QCOMPARE(cache.count(), 50);
        cache.setBudget(10 * kTileBytes);
        QCOMPARE(cache.budget(), 10 * kTileBytes);
        QCOMPARE(cache.count(), 10);
        QCOMPARE(cache.bytes(), 10 * kTileBytes);
        QCOMPARE(cache.evictions(), std::uint64_t{40});
        for (int i = 40; i < 50; ++i)
            QVERIFY(cache.contains(TileKey{0, i, 0})); // the most recent ten stay
        cache.setBudget(100 * kTileBytes);             // raising evicts nothing
        QCOMPARE(cache.count(), 10);
        cache.setBudget(0);
        QCOMPARE(cache.count(), 0);
        QCOMPARE(cache.bytes(), std::int64_t{0});
    }

    void clearEmptiesEverything()
    {
        TileCache cache(10 * kTileBytes);
        cache.setPinnedLevel(0);
        cache.insert(TileKey{0, 0, 0}, tile());
        cache.insert(TileKey{1, 0, 0}, tile());
        cache.clear();
        QCOMPARE(cache.count(), 0);
        QCOMPARE(cache.bytes(), std::int64_t{0});
        QVERIFY(!cache.contains(TileKey{0, 0, 0}));
        QCOMPARE(cache.find(TileKey{1, 0, 0}), nullptr);
        cache.insert(TileKey{1, 0, 0}, tile()); // usable afterwards
        QCOMPARE(cache.bytes(), kTileBytes);
    }

    void manyTilesStayConsistent()
    {
        // A long mixed run: bytes always equals the sum of what is held, never above budget.
        TileCache cache(64 * kTileBytes);
        cache.setPinnedLevel(4);
        std::uint32_t state = 12345;
        auto next = [&state] {
            state = state * 1664525u + 1013904223u;
            return state >> 8;
        };
        for (int step = 0; step < 20000; ++step) {
            const TileKey key{static_cast<int>(next() % 5), static_cast<int>(next() % 20), static_cast<int>(next() % 20)};
            if (next() % 3 == 0) {
                cache.find(key);
            } else {
                const int side = (key.level == 4) ? 16 : 64 + static_cast<int>(next() % 193);
                cache.insert(key, tile(side));
            }
            QVERIFY(cache.bytes() <= cache.budget());
        }
        QVERIFY(cache.evictions() > 0);
        // bytes() is the exact sum: evicting everything unpinned leaves only the pinned level's.
        cache.setPinnedLevel(-1);
        cache.setBudget(0);
        QCOMPARE(cache.bytes(), std::int64_t{0});
        QCOMPARE(cache.count(), 0);
    }
};

QTEST_GUILESS_MAIN(TstTileCache)
#include "tst_tilecache.moc"
