// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/tilegrid.h"
#include "ui/viewer/tilekey.h"

#include <QImage>
#include <QObject>
#include <QString>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace icmil::slide {
class SlideSource;
}

namespace icmil::ui {

// Reads tiles on a pool of background threads. The viewer hands it the complete, ordered list
// of tiles it wants (most urgent first); a new list REPLACES the queue, so requests for tiles
// that left the view are dropped before they are read. Tiles already being read finish and are
// still delivered (they are cached). Results arrive on the loader's thread (the GUI thread) as
// queued signals carrying QImage (Format_RGB32 / ARGB32_Premultiplied, ready to paint).
// Workers sleep on a condition variable: no polling, no busy waits. Opaque tiles arrive as
// Format_RGB32 (drawn without blending: fastest 1:1, on par when scaled smoothly; figures in the
// .cpp), tiles with any transparency as Format_ARGB32_Premultiplied. threads <= 0 means one per hardware thread.
class TileLoader : public QObject {
    Q_OBJECT
public:
    TileLoader(std::shared_ptr<const slide::SlideSource> source, TileGrid grid, int threads, QObject *parent = nullptr);
    ~TileLoader() override; // drops the queue, joins the workers

    void request(std::vector<TileKey> tilesInPriorityOrder);
    void cancelAll();

    int threadCount() const { return static_cast<int>(m_workers.size()); }
    int queued() const;                                 // waiting, not yet started
    int inFlight() const;                               // being read, or read and not yet delivered
    std::uint64_t dropped() const { return m_dropped; } // requests removed from the queue unread
    std::uint64_t read() const { return m_read; }       // tiles read successfully
    bool isIdle() const;                                // nothing queued or in flight

Q_SIGNALS:
    void tileLoaded(const icmil::ui::TileKey &key, const QImage &image);
    void tileFailed(const icmil::ui::TileKey &key, const QString &message);
    // Emitted when the last queued/in-flight tile has been delivered, and after a request() or
    // cancelAll() that emptied the queue while nothing was in flight.
    void idle();

private:
    void workerLoop();
    void deliver(const TileKey &key, const QImage &image, const QString &error); // loader's thread
    void postIdleCheck();

    std::shared_ptr<const slide::SlideSource> m_source;
    TileGrid m_grid;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<TileKey> m_queue;
    std::vector<TileKey> m_reading;
    bool m_stopping = false;
    std::atomic<std::uint64_t> m_dropped{0};
    std::atomic<std::uint64_t> m_read{0};
    std::vector<std::thread> m_workers;
};

} // namespace icmil::ui
