// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/tilekey.h"

#include <QHash>
#include <QImage>

#include <cstdint>
#include <list>

namespace icmil::ui {

// Decoded tiles, bounded in bytes (QImage::sizeInBytes), least recently used evicted first.
// Tiles of the pinned level (the coarsest, which backs every fallback) are never evicted and
// count towards bytes(). GUI-thread only: the loader's results are inserted on the GUI thread.
class TileCache {
public:
    static constexpr std::int64_t kDefaultBudget = std::int64_t{512} << 20; // 512 MiB

    explicit TileCache(std::int64_t budgetBytes = kDefaultBudget);

    // Inserts or replaces; then evicts least recently used unpinned tiles until within budget.
    void insert(const TileKey &key, const QImage &image);
    // The tile, marked most recently used; nullptr when absent.
    const QImage *find(const TileKey &key);
    bool contains(const TileKey &key) const; // does not change LRU order

    void setPinnedLevel(int level); // -1: nothing pinned
    int pinnedLevel() const { return m_pinnedLevel; }
    void setBudget(std::int64_t bytes); // evicts at once when lowered
    std::int64_t budget() const { return m_budget; }
    std::int64_t bytes() const { return m_bytes; }
    int count() const { return static_cast<int>(m_entries.size()); }
    std::uint64_t evictions() const { return m_evictions; }
    void clear();

private:
    struct Entry {
        QImage image;
        std::list<TileKey>::iterator lruPosition; // into m_lru; front = most recent
    };
    void evictToBudget();

    QHash<TileKey, Entry> m_entries;
    std::list<TileKey> m_lru;
    std::int64_t m_budget;
    std::int64_t m_bytes = 0;
    int m_pinnedLevel = -1;
    std::uint64_t m_evictions = 0;
};

} // namespace icmil::ui
