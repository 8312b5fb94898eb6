// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Stain normalisation on a project's slides (engine/stain does the pixels): each slide's stain
// is estimated once, from a few of its own tissue patches, and its patches are mapped to the
// reference before the embedder, in extraction, in ICMIL's fine-tuning and in batch-norm
// calibration alike, so the embedder always sees the same colours for a slide.

#include "engine/stain/stainnormaliser.h"
#include "project/features/patchsamplereader.h"
#include "project/features/stainsettings.h"
#include "project/features/tissuepatchpool.h"

#include <torch/types.h>

#include <functional>
#include <string>
#include <vector>

namespace icmil::project {

// Patches a slide's stain is estimated from: evenly spaced through its grid.
inline constexpr int kStainSamplePatches = 16;

// The patches a slide's stain is estimated from: up to kStainSamplePatches of `coords` (grid
// order, evenly spaced: the first, then every count/16-th), read at readLevel x readSize and made
// model input of side `inputSize` as extraction makes it. K x 3 x inputSize x inputSize on the CPU.
torch::Tensor stainSamplePatches(const slide::SlideSource &source, int readLevel, int readSize,
                                 const std::vector<slide::PatchCoord> &coords, int inputSize);

// A slide's stain: engine::estimateStainProfileOfPatches (patches with pen ink or a fold left
// out) on stainSamplePatches. The same grid gives the same profile, whatever the batch size. Throws ProjectError "Cannot estimate the stain of 'FILE': ..." (too little stain, or no
// patches) and SlideError for a read that fails.
engine::StainProfile estimateSlideStain(const slide::SlideSource &source, int readLevel, int readSize,
                                        const std::vector<slide::PatchCoord> &coords, int inputSize);

// A reference from a level-0 rectangle of a slide, read at the finest level where it has at most
// 4 million pixels. Throws SlideError (cannot open or read, outside the slide) or ProjectError
// (too little stain in it).
engine::StainProfile estimateRegionStain(const StainRegion &region);

// `method` with the reference `reference`: empty or "built-in" for the built-in H&E, else
// SLIDE@X,Y,W,H, estimated now. Throws as parseStainRegion and estimateRegionStain do.
engine::StainNormalisation resolveStainNormalisation(engine::StainMethod method, const std::string &reference);

// Each slide of a pool's map to the reference, for the batches PatchSampleReader reads
// (fine-tuning, batch-norm calibration), whose patches come from many slides.
class PoolStainMaps {
public:
    // Estimates each slide of `pool` that has samples; `keepGoing(i)` is asked before slide i and
    // stops the estimates when it answers false (cancelled: do not apply). A slide whose stain
    // cannot be estimated (too little stain) is in failures() with the reason and has no map:
    // leave its patches out. Throws SlideError for a read that fails. Method none
    // estimates nothing.
    PoolStainMaps(const engine::StainNormalisation &settings, const TissuePatchPool &pool, int inputSize,
                  const std::function<bool(std::size_t)> &keepGoing = {});

    bool active() const { return m_normaliser.active(); }
    // The batch's patches on `device`, each mapped with its own slide's map.
    torch::Tensor apply(const PatchSampleReader::Batch &batch, torch::Device device) const;
    // The slides (indices into the pool) left unmapped, and why.
    const std::vector<std::pair<int, std::string>> &failures() const { return m_failures; }

private:
    std::vector<std::pair<int, std::string>> m_failures;
    engine::StainNormaliser m_normaliser;
    torch::Tensor m_transforms; // slides x 3 x 4
};

} // namespace icmil::project
