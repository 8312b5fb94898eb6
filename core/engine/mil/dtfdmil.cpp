// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/mil/dtfdmil.h"

#include <algorithm>

namespace icmil::engine {

DtfdMilModel::DtfdMilModel(const MilModelConfig &config) : MilModel(config)
{
    m_attention = register_module("attention", GatedAttention(config.embedDim, config.attentionDim));
    m_attClassifier
        = register_module("att_classifier", AttentionClassifier(config.embedDim, config.attentionDim, config.classes, config.dropoutTier2));
}

std::vector<std::vector<std::string>> DtfdMilModel::optimiserGroups() const
{
    return {{"dim_reduction", "attention", "classifier"}, {"att_classifier"}};
}

MilOutput DtfdMilModel::forward(const torch::Tensor &bag, std::optional<at::Generator> generator)
{
    // dim_reduction and the attention network act row by row, so they run once on the whole bag;
    // only the softmax and the pooling are per pseudo-bag.
    const torch::Tensor h = m_dimReduction(bag); // N x L
    const torch::Tensor raw = m_attention(h);    // N
    torch::Tensor groupedH = h;
    torch::Tensor groupedRaw = raw;
    if (generator && is_training()) {
        const torch::Tensor order = torch::randperm(h.size(0), *generator, torch::kLong).to(h.device());
        groupedH = h.index_select(0, order);
        groupedRaw = raw.index_select(0, order);
    }
    const std::vector<torch::Tensor> hChunks = groupedH.chunk(m_config.pseudoBags, 0);
    const std::vector<torch::Tensor> rawChunks = groupedRaw.chunk(m_config.pseudoBags, 0);
    const std::int64_t keep = std::max(1, m_config.distilledInstances / m_config.pseudoBags);

    std::vector<torch::Tensor> tier1;
    std::vector<torch::Tensor> distilled;
    for (std::size_t g = 0; g < hChunks.size(); ++g) {
        const torch::Tensor &hg = hChunks[g];
        const torch::Tensor weights = torch::softmax(rawChunks[g], 0);
        const torch::Tensor weighted = hg * weights.unsqueeze(1);       // n x L
        const torch::Tensor pooled = weighted.sum(0, /*keepdim=*/true); // 1 x L
        tier1.push_back(m_classifier(pooled));
        if (m_config.distillation == DtfdDistillation::Afs) {
            distilled.push_back(pooled);
            continue;
        }
        // The reference's get_cam_1d: instance logits from the attention-weighted features and
        // the classifier's weight (no bias), ranked by the last class's probability.
        const torch::Tensor instanceProbability = torch::softmax(torch::mm(weighted, m_classifier->weight().t()), 1);
        const torch::Tensor order = std::get<1>(instanceProbability.select(1, -1).sort(0, /*descending=*/true));
        const std::int64_t n = order.size(0);
        const std::int64_t k = std::min(keep, n);
        torch::Tensor picked = order.slice(0, 0, k);
        if (m_config.distillation == DtfdDistillation::MaxMinS)
            picked = torch::cat({picked, order.slice(0, n - k, n)});
        distilled.push_back(hg.index_select(0, picked));
    }
    MilOutput output;
    output.tier1Logits = torch::cat(tier1, 0);
    output.logits = m_attClassifier(torch::cat(distilled, 0).detach());
    output.attentionRaw = raw;
    output.attention = torch::softmax(raw, 0);
    return output;
}

std::vector<torch::Tensor> DtfdMilModel::instanceAttentionScores(const torch::Tensor &embedded)
{
    // Both tiers' gated attention on the same instances (each min-max normalised, then multiplied).
    return {m_attClassifier->attention()(embedded), m_attention(embedded)};
}

} // namespace icmil::engine
