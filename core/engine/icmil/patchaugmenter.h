// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The student's view in ICMIL's teacher-student fine-tuning (the reference's
// RandomPatchDistillationDataset: RandomHorizontalFlip, RandomVerticalFlip,
// RandomResizedCrop(scale 0.5-1)), done on the batch's device with tensor ops: each patch gets
// its own flips and crop box, drawn as torchvision draws them, and one affine grid_sample
// (bilinear) applies all of it at once; then, when AugmentationConfig::stainJitter is set, HED
// stain jitter (engine/stain). Seeded by the caller's CPU generator, so a run repeats.

#include "engine/icmil/distillationconfig.h"
#include "engine/runtime/batchshard.h"

#include <torch/types.h>

#include <ATen/core/Generator.h>

#include <vector>

namespace icmil::engine {

// One patch's draw: its crop box in input pixels and its flips.
struct AugmentationDraw {
    int left = 0;
    int top = 0;
    int width = 0;
    int height = 0;
    bool flipHorizontal = false;
    bool flipVertical = false;
};

// torchvision's RandomResizedCrop.get_params for a side x side patch (10 tries, then the whole
// patch clamped to the ratio range), then the two flips. Throws EngineError for a config out of
// range (probabilities outside [0, 1], 0 < minScale <= maxScale <= 1, 0 < minRatio <= maxRatio).
AugmentationDraw drawAugmentation(int side, const AugmentationConfig &config, at::Generator &generator);

// batch: N x C x S x S float (square patches), on any device. Returns N x C x S x S on the same
// device. `draws` (optional, out) receives each patch's draw, for tests and logs. With a
// `shard`, `batch` is rows [offset, offset + N) of a batch of shard.globalSize: the draws are
// made for all of it (the generator advances as for the whole batch) and this part's are used;
// N may then be 0.
torch::Tensor augmentPatches(const torch::Tensor &batch, const AugmentationConfig &config, at::Generator &generator,
                             std::vector<AugmentationDraw> *draws = nullptr, BatchShard shard = {});

} // namespace icmil::engine
