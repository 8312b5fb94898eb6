// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/mil/abmil.h"

namespace icmil::engine {

AbmilModel::AbmilModel(const MilModelConfig &config) : MilModel(config)
{
    m_attention = register_module("attention", GatedAttention(config.embedDim, config.attentionDim));
}

MilOutput AbmilModel::forward(const torch::Tensor &bag, std::optional<at::Generator>)
{
    const torch::Tensor h = m_dimReduction(bag);                     // N x L
    const torch::Tensor raw = m_attention(h);                        // N
    const torch::Tensor weights = torch::softmax(raw, 0);            // N
    const torch::Tensor pooled = torch::mm(weights.unsqueeze(0), h); // 1 x L, sum_n a_n h_n
    return {m_classifier(pooled), raw, weights, {}};
}

std::vector<torch::Tensor> AbmilModel::instanceAttentionScores(const torch::Tensor &embedded)
{
    return {m_attention(embedded)};
}

} // namespace icmil::engine
