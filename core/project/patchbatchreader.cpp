#include "project/patchbatchreader.h"

#include "slide/slidesource.h"

#include <algorithm>
#include <bit>
#include <utility>

namespace icmil::project {

static_assert(std::endian::native == std::endian::little,
              "premultiplied ARGB32 words are read as BGRA bytes: a little-endian machine is assumed");

PatchBatchReader::PatchBatchReader(std::shared_ptr<const slide::SlideSource> source, const slide::PatchGrid &grid,
                                   Options options)
    : m_source(std::move(source))
    , m_coords(grid.coords)
    , m_level(grid.readLevel)
    , m_readSize(grid.readSize)
    , m_options(options)
{
    m_options.batchSize = std::max(1, m_options.batchSize);
    m_options.threads = std::max(1, m_options.threads);
    m_options.batchesAhead = std::max(m_options.threads, m_options.batchesAhead);
    const auto count = static_cast<std::int64_t>(m_coords.size());
    m_batchCount = (count + m_options.batchSize - 1) / m_options.batchSize;
    const int threads = static_cast<int>(std::min<std::int64_t>(m_options.threads, std::max<std::int64_t>(1, m_batchCount)));
    for (int i = 0; i < threads; ++i)
        m_threads.emplace_back([this] { readerLoop(); });
}

PatchBatchReader::~PatchBatchReader()
{
    stop();
    for (std::thread &thread : m_threads)
        thread.join();
}

void PatchBatchReader::stop()
{
    {
        const std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_changed.notify_all();
}

std::optional<PatchBatchReader::Batch> PatchBatchReader::next()
{
    std::unique_lock lock(m_mutex);
    if (m_nextToDeliver >= m_batchCount)
        return std::nullopt;
    m_changed.wait(lock, [this] { return m_stopping || m_error || m_ready.contains(m_nextToDeliver); });
    if (m_error)
        std::rethrow_exception(m_error);
    if (m_stopping)
        return std::nullopt;
    auto node = m_ready.extract(m_nextToDeliver);
    ++m_nextToDeliver;
    lock.unlock();
    m_changed.notify_all(); // a reader waiting for room may go on
    return std::move(node.mapped());
}

void PatchBatchReader::readerLoop()
{
    for (;;) {
        std::int64_t index = 0;
        {
            std::unique_lock lock(m_mutex);
            m_changed.wait(lock, [this] {
                return m_stopping || m_error || m_nextToRead >= m_batchCount
                    || m_nextToRead < m_nextToDeliver + m_options.batchesAhead;
            });
            if (m_stopping || m_error || m_nextToRead >= m_batchCount)
                return;
            index = m_nextToRead++;
        }
        try {
            Batch batch = readBatch(index);
            {
                const std::lock_guard lock(m_mutex);
                m_ready.emplace(index, std::move(batch));
            }
        } catch (...) {
            const std::lock_guard lock(m_mutex);
            if (!m_error)
                m_error = std::current_exception();
        }
        m_changed.notify_all();
    }
}

PatchBatchReader::Batch PatchBatchReader::readBatch(std::int64_t index) const
{
    const std::int64_t first = index * m_options.batchSize;
    const std::int64_t count = std::min<std::int64_t>(m_options.batchSize, static_cast<std::int64_t>(m_coords.size()) - first);
    auto options = torch::TensorOptions().dtype(torch::kUInt8);
    if (m_options.pinMemory)
        options = options.pinned_memory(true);
    Batch batch;
    batch.first = first;
    batch.bgra = torch::empty({count, m_readSize, m_readSize, 4}, options);
    auto *pixels = reinterpret_cast<std::uint32_t *>(batch.bgra.data_ptr<std::uint8_t>());
    const std::size_t perPatch = static_cast<std::size_t>(m_readSize) * static_cast<std::size_t>(m_readSize);
    for (std::int64_t i = 0; i < count; ++i) {
        if (m_stopping)
            break;
        const slide::PatchCoord &c = m_coords[static_cast<std::size_t>(first + i)];
        m_source->readRegionArgb(m_level, c.x, c.y, m_readSize, m_readSize, pixels + static_cast<std::size_t>(i) * perPatch);
    }
    return batch;
}

} // namespace icmil::project
