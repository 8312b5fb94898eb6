// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/embedders/embedder.h"
#include "engine/embedders/patchnormaliser.h"
#include "engine/torchfile/statedictloader.h"

#include <torch/nn/modules/container/any.h>

#include <functional>

namespace icmil::engine {

// An Embedder over a LibTorch module built in C++ (resnet50-trunc, tiny-cnn): normalises the
// batch, runs the module, and moves weights in and out as torchvision-style state dicts.
class ModuleEmbedder final : public Embedder {
public:
    struct Spec {
        std::string name;
        int inputSize = 0;
        int featureDim = 0;
        Normalisation normalisation;
        std::vector<std::string> ignoredWeightPrefixes; // file keys skipped when loading weights
        // Builds the module with fresh weights from `seed`; its forward takes a normalised batch.
        std::function<torch::nn::AnyModule(std::uint64_t seed)> build;
    };

    ModuleEmbedder(Spec spec, std::uint64_t seed); // on the CPU, in eval mode

    // Copies `state` into the module; `source` names it in errors ("Weights 'x.pth'").
    // Throws EngineError (changing nothing) for missing keys or wrong shapes.
    StateDictLoadReport loadWeights(const StateDict &state, const std::string &source);
    StateDict stateDict() const; // torchvision keys and order, sharing the module's storage

    std::string name() const override { return m_spec.name; }
    int inputSize() const override { return m_spec.inputSize; }
    int featureDim() const override { return m_spec.featureDim; }
    Normalisation normalisation() const override { return m_spec.normalisation; }

    torch::Tensor forward(const torch::Tensor &batch) override;
    std::vector<torch::Tensor> parameters() override;
    void setTraining(bool training) override;
    void setBatchNormTraining(bool training) override;
    int recalibrateBatchNorm(const std::function<torch::Tensor()> &next) override;
    void to(torch::Device device) override;
    torch::Device device() const override { return m_normaliser.device(); }
    std::unique_ptr<Embedder> clone() const override;
    void save(const std::filesystem::path &path) const override;

private:
    Spec m_spec;
    std::uint64_t m_seed = 0;
    torch::nn::AnyModule m_module;
    PatchNormaliser m_normaliser;
};

} // namespace icmil::engine
