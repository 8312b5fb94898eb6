// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/embedders/embedder.h"
#include "engine/embedders/patchnormaliser.h"
#include "engine/embedders/torchscriptsidecar.h"

#include <torch/csrc/jit/api/module.h>

namespace icmil::engine {

// An Embedder over a TorchScript module (torch.jit.script / torch.jit.trace, saved with .save())
// described by the JSON beside it (see TorchScriptSidecar). The module's forward takes a
// normalised N x 3 x S x S batch and returns N x feature_dim. Trainable like the built-ins.
class TorchScriptEmbedder final : public Embedder {
public:
    // Loads "<stem>.pt" (on the CPU) and "<stem>.json", then checks the output shape on a probe
    // batch of two patches. Throws EngineError naming the file and what is wrong.
    static std::unique_ptr<TorchScriptEmbedder> load(const std::filesystem::path &modulePath);

    TorchScriptEmbedder(torch::jit::Module module, TorchScriptSidecar sidecar, std::filesystem::path modulePath);

    std::string name() const override { return m_sidecar.name; }
    int inputSize() const override { return m_sidecar.inputSize; }
    int featureDim() const override { return m_sidecar.featureDim; }
    Normalisation normalisation() const override { return m_sidecar.normalisation; }

    // Throws EngineError when the module fails or returns anything but a N x feature_dim tensor:
    // "TorchScript embedder 'x.pt' returned shape [2, 10], expected [N, D] = [2, 16] with
    //  D = feature_dim from 'x.json'".
    torch::Tensor forward(const torch::Tensor &batch) override;
    std::vector<torch::Tensor> parameters() override;
    void setTraining(bool training) override;
    void setBatchNormTraining(bool training) override;
    int recalibrateBatchNorm(const std::function<torch::Tensor()> &) override { return 0; }
    void to(torch::Device device) override;
    torch::Device device() const override { return m_normaliser.device(); }
    std::unique_ptr<Embedder> clone() const override;

    // Writes the module to `path` and the JSON beside it ("<stem>.json"), each atomically.
    void save(const std::filesystem::path &path) const override;

private:
    std::string jsonName() const;

    torch::jit::Module m_module;
    TorchScriptSidecar m_sidecar;
    std::filesystem::path m_path;
    PatchNormaliser m_normaliser;
};

} // namespace icmil::engine
