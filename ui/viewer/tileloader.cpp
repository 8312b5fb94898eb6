// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/tileloader.h"

#include "ui/viewer/paintableimage.h"
#include "ui/viewer/backgroundpriority.h"
#include "ui/viewer/tilebufferpool.h"

#include "slide/io/slidesource.h"

#include <QMetaObject>

#include <algorithm>
#include <exception>
#include <unordered_set>
#include <utility>

namespace icmil::ui {

namespace {

// "(level 2, column 5, row 3)": how error messages name a tile.
QString tilePlace(const TileKey &key)
{
    return QStringLiteral("(level %1, column %2, row %3)").arg(key.level).arg(key.col).arg(key.row);
}

} // namespace

TileLoader::TileLoader(std::shared_ptr<const slide::SlideSource> source, TileGrid grid, int threads, QObject *parent)
    : QObject(parent), m_source(std::move(source)), m_grid(std::move(grid))
{
    qRegisterMetaType<icmil::ui::TileKey>("icmil::ui::TileKey");
    if (threads <= 0)
        threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    m_workers.reserve(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; ++i)
        m_workers.emplace_back([this] { workerLoop(); });
}

TileLoader::~TileLoader()
{
    {
        const std::lock_guard lock(m_mutex);
        m_stopping = true;
        m_dropped += m_queue.size();
        m_queue.clear();
    }
    m_wake.notify_all();
    // Workers never wait for the event loop (results are posted, not sent), so joining cannot
    // deadlock; at most each finishes the one tile it is reading. Deliveries still posted to
    // this object are discarded by ~QObject.
    for (std::thread &worker : m_workers)
        worker.join();
}

void TileLoader::request(std::vector<TileKey> tilesInPriorityOrder)
{
    bool becameIdle = false;
    {
        const std::lock_guard lock(m_mutex);
        std::unordered_set<TileKey> wanted;
        wanted.reserve(tilesInPriorityOrder.size() + m_reading.size());
        wanted.insert(m_reading.begin(), m_reading.end()); // already being read: not again
        std::deque<TileKey> queue;
        for (const TileKey &key : tilesInPriorityOrder) {
            if (wanted.insert(key).second)
                queue.push_back(key);
        }
        // Every old queued tile that is not in the new queue is dropped unread (a queued tile is
        // never also in m_reading, so `wanted` holding it means it is queued again).
        std::uint64_t dropped = 0;
        for (const TileKey &key : m_queue) {
            if (!wanted.contains(key))
                ++dropped;
        }
        m_dropped += dropped;
        becameIdle = !m_queue.empty() && queue.empty() && m_reading.empty();
        m_queue = std::move(queue);
    }
    m_wake.notify_all();
    if (becameIdle)
        postIdleCheck();
}

void TileLoader::cancelAll()
{
    request({});
}

int TileLoader::queued() const
{
    const std::lock_guard lock(m_mutex);
    return static_cast<int>(m_queue.size());
}

int TileLoader::inFlight() const
{
    const std::lock_guard lock(m_mutex);
    return static_cast<int>(m_reading.size());
}

bool TileLoader::isIdle() const
{
    const std::lock_guard lock(m_mutex);
    return m_queue.empty() && m_reading.empty();
}

void TileLoader::workerLoop()
{
    lowerCurrentThreadPriority();
    for (;;) {
        TileKey key;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stopping || !m_queue.empty(); });
            if (m_stopping)
                return;
            key = m_queue.front();
            m_queue.pop_front();
            m_reading.push_back(key);
        }

        QImage image;
        QString error;
        try {
            const QRect area = m_grid.levelRect(key);
            if (area.isEmpty()) {
                error = QStringLiteral("Tile %1 is outside the slide").arg(tilePlace(key));
            } else {
                image = TileBufferPool::shared().image(area.width(), area.height());
                if (image.isNull()) {
                    error = QStringLiteral("Out of memory for tile %1").arg(tilePlace(key));
                } else {
                    readPaintableRegionInto(*m_source, key.level, m_grid.readX(key), m_grid.readY(key), image);
                    ++m_read;
                }
            }
        } catch (const std::exception &e) {
            error = QString::fromStdString(e.what());
        } catch (...) {
            error = QStringLiteral("Unknown error while reading tile %1").arg(tilePlace(key));
        }
        // Queued: runs on the loader's thread; dropped unread by ~QObject if the loader is gone.
        QMetaObject::invokeMethod(
            this, [this, key, image = std::move(image), error = std::move(error)] { deliver(key, image, error); }, Qt::QueuedConnection);
    }
}

void TileLoader::deliver(const TileKey &key, const QImage &image, const QString &error)
{
    bool nowIdle = false;
    {
        const std::lock_guard lock(m_mutex);
        const auto it = std::find(m_reading.begin(), m_reading.end(), key);
        if (it != m_reading.end())
            m_reading.erase(it);
        nowIdle = m_queue.empty() && m_reading.empty();
    }
    if (error.isEmpty())
        Q_EMIT tileLoaded(key, image);
    else
        Q_EMIT tileFailed(key, error);
    if (nowIdle && isIdle()) // a slot above may have requested more
        Q_EMIT idle();
}

void TileLoader::postIdleCheck()
{
    QMetaObject::invokeMethod(
        this,
        [this] {
            if (isIdle())
                Q_EMIT idle();
        },
        Qt::QueuedConnection);
}

} // namespace icmil::ui
