// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/mil/milmodel.h"

#include "engine/mil/abmil.h"
#include "engine/mil/dtfdmil.h"
#include "engine/engineerror.h"
#include "engine/mil/maxpoolmil.h"

#include <algorithm>
#include <limits>

namespace icmil::engine {

MilModel::MilModel(MilModelConfig config) : m_config(config)
{
    m_dimReduction = register_module("dim_reduction", DimReduction(config.inputDim, config.embedDim, config.residualBlocks));
    m_classifier = register_module("classifier", LinearClassifier(config.embedDim, config.classes, config.dropout));
}

torch::Tensor MilModel::embed(const torch::Tensor &features)
{
    return m_dimReduction(features);
}

torch::Tensor MilModel::instanceLogits(const torch::Tensor &features)
{
    return instanceClassifier()(m_dimReduction(features));
}

std::vector<torch::Tensor> MilModel::instanceAttentionScores(const torch::Tensor & /*embedded*/)
{
    return {};
}

torch::Tensor MilModel::normalisedInstanceAttention(const torch::Tensor &embedded)
{
    torch::Tensor product;
    for (const torch::Tensor &scores : instanceAttentionScores(embedded)) {
        const torch::Tensor normalised = minMaxNormalise(scores);
        product = product.defined() ? product * normalised : normalised;
    }
    return product;
}

torch::Tensor minMaxNormalise(const torch::Tensor &values)
{
    return minMaxNormalise(values, values.min(), values.max());
}

torch::Tensor minMaxNormalise(const torch::Tensor &values, const torch::Tensor &minimum, const torch::Tensor &maximum)
{
    // max - min rounds as max(values - min) does: subtracting one number keeps the order.
    const torch::Tensor shifted = values - minimum;
    const torch::Tensor range = maximum - minimum;
    return torch::where(range > 0, shifted / range.clamp_min(std::numeric_limits<float>::min()), torch::zeros_like(shifted));
}

std::shared_ptr<MilModel> copyMilModel(const MilModel &model)
{
    std::shared_ptr<MilModel> copy = makeMilModel(model.config());
    copy->to(model.device());
    torch::NoGradGuard noGrad;
    const auto sourceParameters = model.named_parameters();
    for (auto &target : copy->named_parameters()) {
        const torch::Tensor &source = sourceParameters[target.key()];
        target.value().copy_(source);
        target.value().set_requires_grad(source.requires_grad());
    }
    const auto sourceBuffers = model.named_buffers();
    for (auto &target : copy->named_buffers())
        target.value().copy_(sourceBuffers[target.key()]);
    copy->train(model.is_training());
    return copy;
}

std::vector<std::vector<std::string>> MilModel::optimiserGroups() const
{
    std::vector<std::string> names;
    for (const auto &child : named_children())
        names.push_back(child.key());
    return {names};
}

torch::Device MilModel::device() const
{
    return m_classifier->weight().device();
}

std::shared_ptr<MilModel> makeMilModel(const MilModelConfig &config)
{
    if (config.classes < 2)
        throw EngineError("A MIL model needs at least 2 classes, not " + std::to_string(config.classes));
    if (config.inputDim < 1 || config.embedDim < 1 || config.attentionDim < 1)
        throw EngineError("A MIL model needs positive dimensions (input " + std::to_string(config.inputDim) + ", embedding "
                          + std::to_string(config.embedDim) + ", attention " + std::to_string(config.attentionDim) + ")");
    if (config.residualBlocks < 0 || config.dropout < 0.0 || config.dropout >= 1.0 || config.dropoutTier2 < 0.0
        || config.dropoutTier2 >= 1.0)
        throw EngineError("A MIL model needs residual blocks >= 0 and dropout rates in [0, 1)");
    if (config.type == MilModelType::Dtfd && (config.pseudoBags < 1 || config.distilledInstances < 1))
        throw EngineError("DTFD-MIL needs at least 1 pseudo-bag and 1 distilled instance");
    std::shared_ptr<MilModel> model;
    switch (config.type) {
    case MilModelType::Abmil: model = std::make_shared<AbmilModel>(config); break;
    case MilModelType::MaxPool: model = std::make_shared<MaxPoolMilModel>(config); break;
    case MilModelType::Dtfd: model = std::make_shared<DtfdMilModel>(config); break;
    }
    initialiseLinearLayers(*model, config.seed);
    return model;
}

} // namespace icmil::engine
