// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The settings of ICMIL's teacher-student fine-tuning (teacherstudent.h, patchaugmenter.h) and
// the losses it reports: plain values, no LibTorch, so that the layers above can hold them
// without loading it.

#include <cstdint>

namespace icmil::engine {

// The student's view: flips and a random resized crop, as torchvision draws them.
struct AugmentationConfig {
    double horizontalFlipProbability = 0.5;
    double verticalFlipProbability = 0.5;
    double minScale = 0.5; // crop area as a fraction of the patch
    double maxScale = 1.0;
    double minRatio = 3.0 / 4.0; // crop width / height
    double maxRatio = 4.0 / 3.0;
    // HED stain jitter strength (engine/stain/stainnormaliser.h, jitterStains): each stain's
    // amount scaled by [1 - s, 1 + s] and shifted by [-s, s] OD per patch. 0: off.
    double stainJitter = 0.0;
};

struct DistillationConfig {
    double learningRate = 1e-5;
    double weightDecay = 1e-4;
    double gradientClip = 5.0;       // per head submodule (dim_reduction, classifier); <= 0: off
    bool confidenceWeighted = false; // the confidence_based branch's per-patch weight
    double confidenceBeta = 0.0;     // 0: the reference's (ABMIL 6, DTFD-MIL 2)
    AugmentationConfig augmentation;
    std::uint64_t seed = 0;      // the augmentation draws
    bool mixedPrecision = false; // CUDA only: forward passes under bfloat16 autocast
    // Keep the student's batch-norm layers in eval mode. The reference trains them (train mode,
    // batch statistics), which suits an ImageNet-calibrated ResNet-50 and batches of 100; for an
    // embedder whose running statistics do not describe these patches (randomly initialised,
    // or small batches) train mode makes the student a different function from the teacher it
    // copies: on the demo the held-out disagreement rose from 0.002 to 0.85 in one epoch.
    bool freezeBatchNorm = true;
    // The teacher's instance logits are divided by this before the softmax that makes the
    // targets (loss0 and loss1) and the held-out comparison: 1 is the reference's soft targets;
    // below 1 sharpens them towards the teacher's pseudo-labels. A student that starts as a copy
    // of its teacher gets almost no gradient from soft targets (only the augmentation differs).
    double teacherTemperature = 1.0;
};

// The three terms of one step (or their means over several), and the total.
struct DistillationLosses {
    double total = 0.0;
    double student = 0.0;     // loss0: the student's prediction vs the teacher's
    double consistency = 0.0; // loss1: the student head on the teacher's embedding
    double embedding = 0.0;   // loss2: the dim_reduction outputs
};

} // namespace icmil::engine
