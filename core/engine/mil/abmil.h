// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/mil/milmodel.h"

namespace icmil::engine {

// ABMIL with gated attention (step1_train_classifier_abmil.py): h = dim_reduction(x); a =
// softmax over instances of the gated attention; slide = classifier(sum_n a_n h_n).
class AbmilModel : public MilModel {
public:
    explicit AbmilModel(const MilModelConfig &config);
    MilOutput forward(const torch::Tensor &bag, std::optional<at::Generator> generator = std::nullopt) override;
    std::vector<torch::Tensor> instanceAttentionScores(const torch::Tensor &embedded) override;

private:
    GatedAttention m_attention{nullptr};
};

} // namespace icmil::engine
