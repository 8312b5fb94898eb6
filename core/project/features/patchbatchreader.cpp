// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/patchbatchreader.h"

#include "slide/io/slidesource.h"

#include <algorithm>
#include <bit>
#include <utility>

namespace icmil::project {

static_assert(std::endian::native == std::endian::little,
              "premultiplied ARGB32 words are read as BGRA bytes: a little-endian machine is assumed");

PatchBatchReader::PatchBatchReader(std::shared_ptr<const slide::SlideSource> source, const slide::PatchGrid &grid, Options options)
    : m_source(std::move(source)), m_coords(grid.coords), m_level(grid.readLevel), m_readSize(grid.readSize), m_options(options)
{
    m_options.batchSize = std::max(1, m_options.batchSize);
    m_options.threads = std::max(1, m_options.threads);
    const auto count = static_cast<std::int64_t>(m_coords.size());
    m_batchCount = (count + m_options.batchSize - 1) / m_options.batchSize;
    m_prefetcher = std::make_unique<OrderedPrefetcher<Batch>>(
        m_batchCount, m_options.threads, m_options.batchesAhead,
        [this](std::int64_t index, const std::atomic_bool &stopping) { return readBatch(index, stopping); });
}

PatchBatchReader::~PatchBatchReader() = default;

void PatchBatchReader::stop()
{
    m_prefetcher->stop();
}

std::optional<PatchBatchReader::Batch> PatchBatchReader::next()
{
    return m_prefetcher->next();
}

PatchBatchReader::Batch PatchBatchReader::readBatch(std::int64_t index, const std::atomic_bool &stopping) const
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
        if (stopping)
            break;
        const slide::PatchCoord &c = m_coords[static_cast<std::size_t>(first + i)];
        m_source->readRegionArgb(m_level, c.x, c.y, m_readSize, m_readSize, pixels + static_cast<std::size_t>(i) * perPatch);
    }
    return batch;
}

} // namespace icmil::project
