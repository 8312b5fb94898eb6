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

// One slide a sample may come from, with its patch recipe (PatchGrid::readLevel / readSize).
struct SampledSlide {
    std::shared_ptr<const slide::SlideSource> source;
    int readLevel = 0;
    int readSize = 256;
};

// One patch: which slide (index into the slides) and its level-0 corner.
struct PatchSample {
    int slide = 0;
    slide::PatchCoord coord;
};

// Reads patches drawn from many slides (ICMIL's fine-tuning samples) in batches on a few threads
// while the caller trains on earlier ones, in the samples' order. Each patch is read at its
// slide's level and size and turned into model input right away (engine::patchesToModelInput,
// on the reader thread), so slides with different read sizes share a batch: each batch is
// B x 3 x inputSize x inputSize float32 in [0, 1], on the CPU.
class PatchSampleReader {
public:
    struct Batch {
        std::int64_t first = 0; // index of the batch's first sample
        torch::Tensor patches;
        torch::Tensor slides; // B int64: each patch's slide (PatchSample::slide)
    };

    struct Options {
        int batchSize = 100;
        int threads = 2;
        int batchesAhead = 4;
        // When not empty, batch i is samples [batchEnds[i - 1], batchEnds[i]) (from 0 for the
        // first; a batch may be empty) instead of batchSize each: a data-parallel rank's shares
        // of global batches. The last end must be the number of samples.
        std::vector<std::int64_t> batchEnds;
    };

    PatchSampleReader(std::vector<SampledSlide> slides, std::vector<PatchSample> samples, int inputSize, Options options);
    ~PatchSampleReader(); // stops the readers (each finishes at most the patch it is reading)

    PatchSampleReader(const PatchSampleReader &) = delete;
    PatchSampleReader &operator=(const PatchSampleReader &) = delete;

    // The next batch in order; nullopt at the end or after stop(). Rethrows a reader's error (a
    // SlideError naming the region and the file).
    std::optional<Batch> next() { return m_prefetcher->next(); }
    void stop() { m_prefetcher->stop(); }
    std::int64_t batchCount() const { return m_prefetcher->count(); }

private:
    Batch readBatch(std::int64_t index, const std::atomic_bool &stopping) const;

    std::vector<SampledSlide> m_slides;
    std::vector<PatchSample> m_samples;
    int m_inputSize = 0;
    Options m_options;
    std::unique_ptr<OrderedPrefetcher<Batch>> m_prefetcher; // last: its threads use the members above
};

} // namespace icmil::project
