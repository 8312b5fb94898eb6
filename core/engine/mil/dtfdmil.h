// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/mil/milmodel.h"

namespace icmil::engine {

// DTFD-MIL (step1_train_classifier_dtfdmil.py; Zhang et al., CVPR 2022). Tier 1: the bag is split
// into G pseudo-bags (torch.chunk, so ceil(N / G) rows each and fewer than G when N is small);
// each goes through dim_reduction, gated attention (softmax within the pseudo-bag) and the
// classifier, giving G tier-1 logits. Tier 2 ("att_classifier", gated attention + classifier) takes
// one distilled feature per pseudo-bag (AFS) or the selected instances (MaxS, MaxMinS) and gives
// the slide's logits. Tier 2's input is detached: in the reference, tier 2's loss reaches tier 1's
// parameters only as gradients that optimiser 0 zeroes before using them, so this is the same.
// The attention reported per instance is tier 1's raw score, normalised by one softmax over the
// whole bag (independent of the pseudo-bag draw, so a heatmap is stable).
class DtfdMilModel : public MilModel {
public:
    explicit DtfdMilModel(const MilModelConfig &config);
    MilOutput forward(const torch::Tensor &bag, std::optional<at::Generator> generator = std::nullopt) override;
    std::vector<std::vector<std::string>> optimiserGroups() const override;
    LinearClassifier instanceClassifier() const override { return m_attClassifier->classifier(); }
    std::vector<torch::Tensor> instanceAttentionScores(const torch::Tensor &embedded) override;

private:
    GatedAttention m_attention{nullptr};
    AttentionClassifier m_attClassifier{nullptr};
};

} // namespace icmil::engine
