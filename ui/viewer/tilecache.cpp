// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/tilecache.h"

#include <algorithm>

namespace icmil::ui {

TileCache::TileCache(std::int64_t budgetBytes) : m_budget(std::max<std::int64_t>(0, budgetBytes))
{ }

void TileCache::insert(const TileKey &key, const QImage &image)
{
    auto it = m_entries.find(key);
    if (it != m_entries.end()) {
        m_bytes -= it->image.sizeInBytes();
        it->image = image;
        m_lru.splice(m_lru.begin(), m_lru, it->lruPosition);
    } else {
        m_lru.push_front(key);
        m_entries.insert(key, Entry{image, m_lru.begin()});
    }
    m_bytes += image.sizeInBytes();
    evictToBudget();
}

const QImage *TileCache::find(const TileKey &key)
{
    auto it = m_entries.find(key);
    if (it == m_entries.end())
        return nullptr;
    m_lru.splice(m_lru.begin(), m_lru, it->lruPosition); // iterators stay valid
    return &it->image;
}

bool TileCache::contains(const TileKey &key) const
{
    return m_entries.contains(key);
}

void TileCache::setPinnedLevel(int level)
{
    m_pinnedLevel = level;
    evictToBudget(); // the previously pinned tiles may now be evictable
}

void TileCache::setBudget(std::int64_t bytes)
{
    m_budget = std::max<std::int64_t>(0, bytes);
    evictToBudget();
}

void TileCache::clear()
{
    m_entries.clear();
    m_lru.clear();
    m_bytes = 0;
}

void TileCache::evictToBudget()
{
    // Walk from the least recently used end, stepping over pinned tiles (they stay, and keep
    // counting). When only pinned tiles are left the cache may stay above budget.
    auto it = m_lru.end();
    while (m_bytes > m_budget && it != m_lru.begin()) {
        --it;
        if (it->level == m_pinnedLevel)
            continue;
        const auto entry = m_entries.find(*it);
        m_bytes -= entry->image.sizeInBytes();
        m_entries.erase(entry);
        it = m_lru.erase(it); // the element after the erased one; the next --it visits its predecessor
        ++m_evictions;
    }
}

} // namespace icmil::ui
