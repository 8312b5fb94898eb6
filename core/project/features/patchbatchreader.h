// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/features/orderedprefetcher.h"
#include "slide/tissue/patchgrid.h"

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace icmil::slide {
class SlideSource;
}

namespace icmil::project {

// Reads one slide's patches into batches on a few threads while the caller runs the model on
// earlier ones. Batches come out in patch order; readers stay at most `batchesAhead` batches in
// front of the consumer, so memory is bounded. Each batch is a B x S x S x 4 uint8 tensor of
// premultiplied BGRA bytes (S = the grid's readSize), read with SlideSource::readRegionArgb
// straight into the tensor; pinned when `pinMemory` (a CUDA consumer copies it asynchronously).
class PatchBatchReader {
public:
    struct Batch {
        std::int64_t first = 0; // index of the batch's first patch in the grid
        torch::Tensor bgra;
    };

    struct Options {
        int batchSize = 64;
        int threads = 2;
        int batchesAhead = 4;
        bool pinMemory = false;
    };

    PatchBatchReader(std::shared_ptr<const slide::SlideSource> source, const slide::PatchGrid &grid, Options options);
    ~PatchBatchReader(); // stops the readers (each finishes at most the patch it is reading)

    PatchBatchReader(const PatchBatchReader &) = delete;
    PatchBatchReader &operator=(const PatchBatchReader &) = delete;

    // The next batch in order, waiting for it; nullopt once every patch was delivered or after
    // stop(). Rethrows the first reader error (a SlideError naming the region and the file).
    std::optional<Batch> next();

    // Makes next() return nullopt and the readers end soon; safe from any thread.
    void stop();

    std::int64_t batchCount() const { return m_batchCount; }

private:
    Batch readBatch(std::int64_t index, const std::atomic_bool &stopping) const;

    std::shared_ptr<const slide::SlideSource> m_source;
    std::vector<slide::PatchCoord> m_coords;
    int m_level = 0;
    int m_readSize = 0;
    Options m_options;
    std::int64_t m_batchCount = 0;
    std::unique_ptr<OrderedPrefetcher<Batch>> m_prefetcher; // last: its threads use the members above
};

} // namespace icmil::project
