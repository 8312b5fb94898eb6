// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/mil/bagevaluation.h"

#include "engine/engineerror.h"

#include <torch/nn/functional/loss.h>

namespace icmil::engine {

void checkBagFits(const MilModel &model, const Bag &bag)
{
    if (!bag.features.defined() || bag.features.dim() != 2 || bag.features.size(0) < 1)
        throw EngineError("Slide '" + bag.id + "' has no patch features");
    if (bag.features.size(1) != model.config().inputDim)
        throw EngineError("Slide '" + bag.id + "' has " + std::to_string(bag.features.size(1)) + " features per patch; the model takes "
                          + std::to_string(model.config().inputDim));
    if (bag.label >= model.config().classes)
        throw EngineError("Slide '" + bag.id + "' has class " + std::to_string(bag.label) + "; the model has "
                          + std::to_string(model.config().classes) + " classes");
}

namespace {

template <typename T> std::vector<T> toVector(const torch::Tensor &tensor)
{
    const torch::Tensor cpu = tensor.detach().to(torch::kCPU, c10::CppTypeToScalarType<T>::value).contiguous();
    return std::vector<T>(cpu.data_ptr<T>(), cpu.data_ptr<T>() + cpu.numel());
}

} // namespace

BagPrediction predictBag(MilModel &model, const Bag &bag, bool instances)
{
    checkBagFits(model, bag);
    const bool wasTraining = model.is_training();
    model.eval();
    torch::NoGradGuard noGrad;
    const torch::Tensor features = bag.features.to(model.device(), torch::kFloat);
    const MilOutput output = model.forward(features);
    torch::Tensor instanceLogits;
    if (instances)
        instanceLogits = model.instanceLogits(features);
    if (wasTraining)
        model.train();
    BagPrediction prediction;
    prediction.probabilities = toVector<double>(torch::softmax(output.logits.to(torch::kFloat), 1));
    prediction.attention = toVector<float>(output.attention);
    prediction.attentionRaw = toVector<float>(output.attentionRaw);
    if (instances)
        prediction.instanceProbabilities = toVector<float>(torch::softmax(instanceLogits.to(torch::kFloat), 1));
    if (bag.label >= 0) {
        const torch::Tensor target = torch::full({1}, bag.label, torch::TensorOptions(torch::kLong).device(output.logits.device()));
        prediction.loss = torch::nn::functional::cross_entropy(output.logits.to(torch::kFloat), target).item<double>();
    }
    return prediction;
}

BagSetEvaluation evaluateBags(MilModel &model, const std::vector<Bag> &bags, std::optional<double> threshold)
{
    BagSetEvaluation evaluation;
    if (bags.empty())
        return evaluation;
    double lossSum = 0.0;
    for (const Bag &bag : bags) {
        if (bag.label < 0)
            throw EngineError("Slide '" + bag.id + "' has no label to evaluate against");
        const BagPrediction prediction = predictBag(model, bag, false);
        evaluation.labels.push_back(bag.label);
        evaluation.probabilities.insert(evaluation.probabilities.end(), prediction.probabilities.begin(), prediction.probabilities.end());
        lossSum += prediction.loss;
    }
    evaluation.loss = lossSum / static_cast<double>(bags.size());
    evaluation.metrics = classificationMetrics(evaluation.labels, evaluation.probabilities, model.config().classes,
                                               model.config().classes == 2 ? threshold : std::nullopt);
    return evaluation;
}

} // namespace icmil::engine
