// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Patch embedders: a batch of RGB patches in, one feature vector per patch out. ICMIL fine-tunes
// them (teacher-student), so every embedder is trainable, also one loaded from TorchScript.

#include "engine/embedders/embedderconfig.h"

#include <torch/types.h>

#include <array>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace icmil::engine {

// Per-channel normalisation applied inside forward(): (x - mean) / std, RGB order.
struct Normalisation {
    std::array<float, 3> mean{0.485f, 0.456f, 0.406f}; // ImageNet
    std::array<float, 3> std{0.229f, 0.224f, 0.225f};
    bool operator==(const Normalisation &) const = default;
};

class Embedder {
public:
    virtual ~Embedder() = default;

    virtual std::string name() const = 0; // "resnet50-trunc", "tiny-cnn", or the JSON's name
    virtual int inputSize() const = 0;    // side of the square patch forward() expects
    virtual int featureDim() const = 0;   // D of the N x D output
    virtual Normalisation normalisation() const = 0;

    // batch: N x 3 x S x S float in [0, 1] (S = inputSize()), on the embedder's device. Applies
    // normalisation itself, so callers (and ICMIL's augmentations) work on plain [0, 1] images.
    // Returns N x featureDim(). Honours the caller's grad mode (NoGradGuard for extraction).
    virtual torch::Tensor forward(const torch::Tensor &batch) = 0;

    virtual std::vector<torch::Tensor> parameters() = 0; // trainable tensors, for an optimiser
    virtual void setTraining(bool training) = 0;         // train() / eval() (batch norm, dropout)
    // Batch-norm layers only, after setTraining(): false keeps them in eval mode (their running
    // statistics are used and left unchanged) while the rest trains.
    virtual void setBatchNormTraining(bool training) = 0;
    // Re-estimates every batch-norm layer's running statistics from the batches `next` returns
    // (N x 3 x S x S in [0, 1] on the embedder's device; an undefined tensor ends them): the
    // cumulative mean and variance over all of them, the weights untouched, the mode restored
    // afterwards. A randomly initialised embedder needs it before its features mean anything:
    // its statistics are 0 and 1, so in eval mode batch norm normalises nothing and the features
    // of all patches come out nearly alike (AdaBN, Li et al. 2016). Returns the layers updated:
    // 0 for an embedder whose layers it cannot reach (TorchScript) or that has none.
    virtual int recalibrateBatchNorm(const std::function<torch::Tensor()> &next) = 0;
    virtual void to(torch::Device device) = 0;
    virtual torch::Device device() const = 0;

    // A deep copy with its own parameters (ICMIL's frozen teacher), on the same device and in the
    // same training mode; requires_grad flags are copied too.
    virtual std::unique_ptr<Embedder> clone() const = 0;

    // Writes the current weights atomically so makeEmbedder() with this file as `weights` (or,
    // for TorchScript, as `name`) restores them exactly. Throws EngineError on failure.
    virtual void save(const std::filesystem::path &path) const = 0;
};

// Builds an embedder, on the CPU and in eval mode (call to() and setTraining() as needed). Built-in
// weights files may be a full torchvision ResNet-50 (layer4.* and fc.* are skipped), carry a
// DataParallel "module." prefix, or lack num_batches_tracked (pre-0.4.1 files); keys the model
// does not have are skipped. Throws EngineError with one clear message for an unknown name, a
// missing or unreadable weights file, weights that do not fit (listing missing keys and wrong
// shapes), a TorchScript file without its JSON, a bad JSON field, or a TorchScript module whose
// output on a probe batch is not N x feature_dim.
std::unique_ptr<Embedder> makeEmbedder(const EmbedderConfig &config);

} // namespace icmil::engine
