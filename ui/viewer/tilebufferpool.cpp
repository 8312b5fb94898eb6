// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/tilebufferpool.h"

#include <cstdlib>
#include <new>

namespace icmil::ui {

// Each block is one allocation: this header, then the pixels at a 64-byte boundary.
struct TileBufferPool::Header {
    TileBufferPool *pool;
    std::size_t bytes;
};

namespace {
constexpr std::size_t kPixelOffset = 64;
static_assert(sizeof(void *) * 2 <= kPixelOffset);

uchar *pixelsOf(void *block)
{
    return static_cast<uchar *>(block) + kPixelOffset;
}
} // namespace

TileBufferPool::TileBufferPool(std::size_t maxFreeBytes) : m_maxFreeBytes(maxFreeBytes)
{ }

TileBufferPool::~TileBufferPool()
{
    // Only free buffers are released: one still in a QImage comes back through recycle(), which
    // must then not find a destroyed pool. shared() is never destroyed for that reason; a local
    // pool must outlive its images.
    for (auto &[bytes, blocks] : m_free) {
        for (Header *header : blocks)
            std::free(header);
    }
}

TileBufferPool &TileBufferPool::shared()
{
    static auto *pool = new TileBufferPool(); // never destroyed: images may outlive static teardown
    return *pool;
}

QImage TileBufferPool::image(int width, int height, QImage::Format format)
{
    if (width <= 0 || height <= 0)
        return {};
    const std::size_t bytes = static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 4;
    Header *header = nullptr;
    {
        const std::lock_guard lock(m_mutex);
        if (auto it = m_free.find(bytes); it != m_free.end() && !it->second.empty()) {
            header = it->second.back();
            it->second.pop_back();
            m_freeBytes -= bytes;
            ++m_reused;
        } else {
            ++m_allocated;
        }
    }
    if (header == nullptr) {
        // aligned_alloc wants a size that is a multiple of the alignment (C11 7.22.3.1; glibc
        // forgives it, ThreadSanitizer's allocator does not): a tile of 250 x 3 pixels is not.
        const std::size_t size = (kPixelOffset + bytes + kPixelOffset - 1) / kPixelOffset * kPixelOffset;
        void *block = std::aligned_alloc(kPixelOffset, size);
        if (block == nullptr)
            return {};
        header = new (block) Header{this, bytes};
    }
    return QImage(pixelsOf(header), width, height, static_cast<qsizetype>(width) * 4, format, &TileBufferPool::recycle, header);
}

void TileBufferPool::recycle(void *block)
{
    auto *header = static_cast<Header *>(block);
    header->pool->giveBack(header);
}

void TileBufferPool::giveBack(Header *header)
{
    {
        const std::lock_guard lock(m_mutex);
        if (m_freeBytes + header->bytes <= m_maxFreeBytes) {
            m_free[header->bytes].push_back(header);
            m_freeBytes += header->bytes;
            return;
        }
    }
    std::free(header);
}

std::size_t TileBufferPool::freeBytes() const
{
    const std::lock_guard lock(m_mutex);
    return m_freeBytes;
}

std::uint64_t TileBufferPool::reused() const
{
    const std::lock_guard lock(m_mutex);
    return m_reused;
}

std::uint64_t TileBufferPool::allocated() const
{
    const std::lock_guard lock(m_mutex);
    return m_allocated;
}

} // namespace icmil::ui
