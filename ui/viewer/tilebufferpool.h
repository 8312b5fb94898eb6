// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QImage>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace icmil::ui {

// Recycles the pixel buffers of decoded tiles. A fresh 256 KiB buffer costs the reader 64 page
// faults, and OpenSlide composites onto its destination, so each first write to a page is also a
// copy-on-write fault with a TLB shootdown that interrupts every core running this process; raw
// OpenSlide reading into one reused buffer pays none of it. QImages from image() hand their
// buffer back here when the last copy is destroyed (an evicted tile, a dropped delivery), on any
// thread, and the next tile of that byte size reuses it, already faulted in.
// Free buffers are bounded in bytes (the cache budget bounds the ones in use); beyond that they
// are released to the system. Thread-safe. shared() lives for the whole process, so a QImage
// may outlive any viewer.
class TileBufferPool {
public:
    static constexpr std::size_t kDefaultMaxFreeBytes = std::size_t{32} << 20;

    explicit TileBufferPool(std::size_t maxFreeBytes = kDefaultMaxFreeBytes);
    ~TileBufferPool();
    TileBufferPool(const TileBufferPool &) = delete;
    TileBufferPool &operator=(const TileBufferPool &) = delete;

    static TileBufferPool &shared();

    // A width x height image with rows of exactly width * 4 bytes, in `format` (a 32-bit one);
    // pixels uninitialised. A null QImage when memory runs out.
    QImage image(int width, int height, QImage::Format format = QImage::Format_ARGB32_Premultiplied);

    std::size_t freeBytes() const;
    std::uint64_t reused() const;    // image() calls served from a recycled buffer
    std::uint64_t allocated() const; // image() calls that needed a new buffer

private:
    struct Header;
    static void recycle(void *block); // QImageCleanupFunction
    void giveBack(Header *header);

    const std::size_t m_maxFreeBytes;
    mutable std::mutex m_mutex;
    std::unordered_map<std::size_t, std::vector<Header *>> m_free; // by pixel bytes
    std::size_t m_freeBytes = 0;
    std::uint64_t m_reused = 0;
    std::uint64_t m_allocated = 0;
};

} // namespace icmil::ui
