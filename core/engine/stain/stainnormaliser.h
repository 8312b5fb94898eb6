// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Stain normalisation and stain augmentation of patch batches, with tensor ops on the batch's
// device (stainconfig.h says what the methods do). Every operation is a per-patch affine map
// in a colour space where stains mix linearly or nearly so:
//   optical density   OD = -ln(max(I, 1/255))   (Macenko; HED jitter)
//   l-alpha-beta      Reinhard's log-LMS space    (Reinhard)
// so one mechanism serves the three: colours in, y' = A y + b per patch, colours back, clamped
// to [0, 1].

#include "engine/runtime/batchshard.h"
#include "engine/stain/stainconfig.h"

#include <torch/types.h>

#include <ATen/core/Generator.h>

namespace icmil::engine {

enum class ColourSpace { OpticalDensity, LabReinhard };

// rgb: N x 3 x H x W floating point in [0, 1]; transforms: 3 x 4 (the same [A | b] for every
// patch) or N x 3 x 4, on any device (moved to rgb's). Returns N x 3 x H x W float32 in [0, 1].
// Throws EngineError for other shapes.
torch::Tensor mapColours(const torch::Tensor &rgb, ColourSpace space, const torch::Tensor &transforms);

// A slide's stain from its pixels (rgb N x 3 x H x W in [0, 1], any device: a few of its tissue
// patches). Deterministic: the same pixels in the same order give the same profile, bit for bit.
// Throws EngineError when fewer than kMinStainedPixels pixels are stained.
StainProfile estimateStainProfile(const torch::Tensor &rgb);

// A slide's stain from several of its patches, robust to a minority of patches with something
// else on them (pen ink, a fold): each patch with enough stain is estimated alone, patches whose
// haematoxylin or eosin vector is more than kOutlierDegrees from the median of all patches'
// vectors are left out (their number in `leftOut`), and the rest are estimated together. With
// fewer than 3 patches that have enough stain alone, all are pooled. Throws as estimateStainProfile.
inline constexpr double kOutlierDegrees = 12.0;
StainProfile estimateStainProfileOfPatches(const torch::Tensor &rgb, int *leftOut = nullptr);

class StainNormaliser {
public:
    explicit StainNormaliser(StainNormalisation settings);

    bool active() const { return m_settings.active(); }
    const StainNormalisation &settings() const { return m_settings; }

    // The map from a slide with stain `source` to the reference: 3 x 4 float64 on the CPU
    // (identity for method none). Throws EngineError for a degenerate profile (parallel stain
    // vectors, a zero concentration or standard deviation).
    torch::Tensor slideTransform(const StainProfile &source) const;

    // rgb: N x 3 x H x W in [0, 1]; transforms: one slideTransform (3 x 4) or one per patch
    // (N x 3 x 4). Method none returns rgb unchanged.
    torch::Tensor apply(const torch::Tensor &rgb, const torch::Tensor &transforms) const;

private:
    StainNormalisation m_settings;
};

// HED stain augmentation (Tellez et al. 2018): each patch's haematoxylin, eosin and DAB amounts
// (Ruifrok and Johnston's colour deconvolution) are scaled by a factor drawn from
// [1 - strength, 1 + strength] and shifted by an optical density drawn from [-strength,
// strength], per patch and stain, from `generator` (the CPU generator of the caller's seed).
// strength <= 0 returns rgb unchanged. Throws EngineError for strength > 1.
// With a `shard` (engine/runtime/batchshard.h) the draws are made for the whole batch and this
// part's rows used; rgb may then have 0 rows.
torch::Tensor jitterStains(const torch::Tensor &rgb, double strength, at::Generator &generator, BatchShard shard = {});

} // namespace icmil::engine
