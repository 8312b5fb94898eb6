// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The building blocks of the ICMIL reference's bag classifiers (model/network.py and
// model/Attention.py of github.com/Dootmaan/ICMIL), with the same parameter names, so their
// state-dict keys are the reference's: "fc1.weight", "attention_V.0.weight", "fc.bias", ...

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace icmil::engine {

// DimReduction: Linear(D -> m, no bias) + ReLU, then `residualBlocks` blocks of
// x + ReLU(Linear(ReLU(Linear(x)))) (both bias-free), keys "resBlocks.<i>.block.{0,2}.weight".
class DimReductionImpl : public torch::nn::Module {
public:
    DimReductionImpl(std::int64_t inputDim, std::int64_t outputDim, int residualBlocks = 0);
    torch::Tensor forward(const torch::Tensor &x); // N x D -> N x m

private:
    torch::nn::Linear m_fc1{nullptr};
    torch::nn::Sequential m_resBlocks{nullptr};
};
TORCH_MODULE(DimReduction);

// Attention_Gated: a = w^T (tanh(V h) * sigmoid(U h)) + b per instance (K = 1 head).
class GatedAttentionImpl : public torch::nn::Module {
public:
    GatedAttentionImpl(std::int64_t inputDim, std::int64_t hiddenDim);
    torch::Tensor forward(const torch::Tensor &h); // N x L -> N, raw scores (before the softmax)

private:
    torch::nn::Sequential m_attentionV{nullptr};
    torch::nn::Sequential m_attentionU{nullptr};
    torch::nn::Linear m_attentionWeights{nullptr};
};
TORCH_MODULE(GatedAttention);

// Classifier_1fc: optional dropout, then Linear(L -> C), key "fc".
class LinearClassifierImpl : public torch::nn::Module {
public:
    LinearClassifierImpl(std::int64_t inputDim, std::int64_t classes, double dropout = 0.0);
    torch::Tensor forward(const torch::Tensor &x); // N x L -> N x C
    const torch::Tensor &weight() const { return m_fc->weight; }

private:
    torch::nn::Linear m_fc{nullptr};
    torch::nn::Dropout m_dropout{nullptr};
};
TORCH_MODULE(LinearClassifier);

// Attention_with_Classifier (DTFD-MIL's tier 2): gated attention over the rows, softmax, the
// attention-weighted sum, then a linear classifier. Keys "attention.*", "classifier.fc.*".
class AttentionClassifierImpl : public torch::nn::Module {
public:
    AttentionClassifierImpl(std::int64_t inputDim, std::int64_t hiddenDim, std::int64_t classes, double dropout = 0.0);
    torch::Tensor forward(const torch::Tensor &x); // R x L -> 1 x C
    GatedAttention attention() const { return m_attention; }
    LinearClassifier classifier() const { return m_classifier; }

private:
    GatedAttention m_attention{nullptr};
    LinearClassifier m_classifier{nullptr};
};
TORCH_MODULE(AttentionClassifier);

// Re-initialises every Linear as PyTorch's nn.Linear.reset_parameters() does (weights and biases
// uniform in +-1/sqrt(fan_in)), from a generator seeded with `seed`: the global one is untouched.
void initialiseLinearLayers(torch::nn::Module &module, std::uint64_t seed);

} // namespace icmil::engine
