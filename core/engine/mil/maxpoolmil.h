// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/mil/milmodel.h"

namespace icmil::engine {

// MaxPool MIL (step1_train_classifier_maxpool.py): slide = classifier(max over instances of
// dim_reduction(x)), the AdaptiveMaxPool1d(1) of the reference. It has no attention parameters;
// an instance's score is how many embedding dimensions it supplies to the pooled vector.
class MaxPoolMilModel : public MilModel {
public:
    explicit MaxPoolMilModel(const MilModelConfig &config);
    MilOutput forward(const torch::Tensor &bag, std::optional<at::Generator> generator = std::nullopt) override;
};

} // namespace icmil::engine
