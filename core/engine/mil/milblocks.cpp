// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/mil/milblocks.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/modules/activation.h>

#include <cmath>
#include <string>

namespace icmil::engine {

namespace {

class ResidualBlockImpl : public torch::nn::Module {
public:
    explicit ResidualBlockImpl(std::int64_t dim)
    {
        m_block
            = register_module("block",
                              torch::nn::Sequential(torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(false)), torch::nn::ReLU(),
                                                    torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(false)), torch::nn::ReLU()));
    }
    torch::Tensor forward(const torch::Tensor &x) { return x + m_block->forward(x); }

private:
    torch::nn::Sequential m_block{nullptr};
};
TORCH_MODULE(ResidualBlock);

} // namespace

DimReductionImpl::DimReductionImpl(std::int64_t inputDim, std::int64_t outputDim, int residualBlocks)
{
    m_fc1 = register_module("fc1", torch::nn::Linear(torch::nn::LinearOptions(inputDim, outputDim).bias(false)));
    m_resBlocks = register_module("resBlocks", torch::nn::Sequential());
    for (int i = 0; i < residualBlocks; ++i)
        m_resBlocks->push_back(ResidualBlock(outputDim));
}

torch::Tensor DimReductionImpl::forward(const torch::Tensor &x)
{
    torch::Tensor h = torch::relu(m_fc1(x));
    if (!m_resBlocks->is_empty())
        h = m_resBlocks->forward(h);
    return h;
}

GatedAttentionImpl::GatedAttentionImpl(std::int64_t inputDim, std::int64_t hiddenDim)
{
    m_attentionV = register_module("attention_V", torch::nn::Sequential(torch::nn::Linear(inputDim, hiddenDim), torch::nn::Tanh()));
    m_attentionU = register_module("attention_U", torch::nn::Sequential(torch::nn::Linear(inputDim, hiddenDim), torch::nn::Sigmoid()));
    m_attentionWeights = register_module("attention_weights", torch::nn::Linear(hiddenDim, 1));
}

torch::Tensor GatedAttentionImpl::forward(const torch::Tensor &h)
{
    return m_attentionWeights(m_attentionV->forward(h) * m_attentionU->forward(h)).squeeze(1);
}

LinearClassifierImpl::LinearClassifierImpl(std::int64_t inputDim, std::int64_t classes, double dropout)
{
    m_fc = register_module("fc", torch::nn::Linear(inputDim, classes));
    if (dropout > 0.0)
        m_dropout = register_module("dropout", torch::nn::Dropout(dropout));
}

torch::Tensor LinearClassifierImpl::forward(const torch::Tensor &x)
{
    return m_fc(m_dropout ? m_dropout(x) : x);
}

AttentionClassifierImpl::AttentionClassifierImpl(std::int64_t inputDim, std::int64_t hiddenDim, std::int64_t classes, double dropout)
{
    m_attention = register_module("attention", GatedAttention(inputDim, hiddenDim));
    m_classifier = register_module("classifier", LinearClassifier(inputDim, classes, dropout));
}

torch::Tensor AttentionClassifierImpl::forward(const torch::Tensor &x)
{
    const torch::Tensor weights = torch::softmax(m_attention(x), 0);
    return m_classifier(torch::mm(weights.unsqueeze(0), x));
}

void initialiseLinearLayers(torch::nn::Module &module, std::uint64_t seed)
{
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    torch::NoGradGuard noGrad;
    for (const auto &child : module.modules(/*include_self=*/true)) {
        auto *linear = child->as<torch::nn::Linear>();
        if (!linear)
            continue;
        const double bound = 1.0 / std::sqrt(static_cast<double>(linear->weight.size(1)));
        // Drawn on the CPU, then copied: the same numbers whatever the module's device.
        linear->weight.copy_(torch::empty(linear->weight.sizes()).uniform_(-bound, bound, generator));
        if (linear->bias.defined())
            linear->bias.copy_(torch::empty(linear->bias.sizes()).uniform_(-bound, bound, generator));
    }
}

} // namespace icmil::engine
