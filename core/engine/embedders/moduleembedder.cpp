// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/moduleembedder.h"

#include "engine/engineerror.h"
#include "engine/torchfile/torchfilewriter.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/utils.h>

namespace icmil::engine {

ModuleEmbedder::ModuleEmbedder(Spec spec, std::uint64_t seed)
    : m_spec(std::move(spec)), m_seed(seed), m_module(m_spec.build(seed)), m_normaliser(m_spec.name, m_spec.inputSize, m_spec.normalisation)
{
    m_module.ptr()->eval();
}

StateDictLoadReport ModuleEmbedder::loadWeights(const StateDict &state, const std::string &source)
{
    StateDictLoadOptions options;
    options.source = source;
    options.target = m_spec.name;
    options.ignoredPrefixes = m_spec.ignoredWeightPrefixes;
    return loadStateDict(*m_module.ptr(), state, options);
}

StateDict ModuleEmbedder::stateDict() const
{
    return moduleStateDict(*m_module.ptr());
}

torch::Tensor ModuleEmbedder::forward(const torch::Tensor &batch)
{
    return m_module.forward(m_normaliser(batch));
}

std::vector<torch::Tensor> ModuleEmbedder::parameters()
{
    return m_module.ptr()->parameters();
}

void ModuleEmbedder::setTraining(bool training)
{
    m_module.ptr()->train(training);
}

void ModuleEmbedder::setBatchNormTraining(bool training)
{
    for (const auto &module : m_module.ptr()->modules(/*include_self=*/true))
        if (module->name().find("BatchNorm") != std::string::npos)
            module->train(training);
}

int ModuleEmbedder::recalibrateBatchNorm(const std::function<torch::Tensor()> &next)
{
    // Momentum "none" makes each layer's running statistics the cumulative average over the
    // batches seen since reset_running_stats(); the layers run in train mode meanwhile, so every
    // layer normalises with the statistics of the batch, as it will with the estimated ones.
    struct Layer {
        torch::nn::BatchNorm2dImpl *module;
        c10::optional<double> momentum;
        bool training;
        torch::Tensor mean, variance, count; // restored when no batch came
    };
    std::vector<Layer> layers;
    for (const auto &module : m_module.ptr()->modules(/*include_self=*/true))
        if (auto *bn = dynamic_cast<torch::nn::BatchNorm2dImpl *>(module.get()); bn != nullptr && bn->options.track_running_stats())
            layers.push_back({bn, bn->options.momentum(), bn->is_training(), bn->running_mean.clone(), bn->running_var.clone(),
                              bn->num_batches_tracked.clone()});
    if (layers.empty())
        return 0;
    for (const Layer &layer : layers) {
        layer.module->options.momentum(c10::nullopt);
        layer.module->reset_running_stats();
        layer.module->train(true);
    }
    std::int64_t batches = 0;
    {
        torch::NoGradGuard noGrad;
        for (torch::Tensor batch = next(); batch.defined(); batch = next()) {
            if (batch.size(0) < 2)
                continue; // one patch has no variance to estimate
            forward(batch);
            ++batches;
        }
    }
    for (const Layer &layer : layers) {
        layer.module->options.momentum(layer.momentum);
        layer.module->train(layer.training);
        if (batches == 0) {
            torch::NoGradGuard noGrad;
            layer.module->running_mean.copy_(layer.mean);
            layer.module->running_var.copy_(layer.variance);
            layer.module->num_batches_tracked.copy_(layer.count);
        }
    }
    if (batches == 0)
        throw EngineError("Batch-norm calibration of " + m_spec.name + " needs at least one batch of 2 or more patches");
    return static_cast<int>(layers.size());
}

void ModuleEmbedder::to(torch::Device device)
{
    m_module.ptr()->to(device);
    m_normaliser.to(device);
}

std::unique_ptr<Embedder> ModuleEmbedder::clone() const
{
    auto copy = std::make_unique<ModuleEmbedder>(m_spec, m_seed);
    copy->to(device());
    {
        torch::NoGradGuard noGrad;
        const StateDict source = stateDict();
        const StateDict target = copy->stateDict();
        for (const auto &[key, tensor] : source.entries())
            target.find(key)->copy_(tensor);
    }
    const auto sourceParameters = m_module.ptr()->parameters();
    const auto targetParameters = copy->parameters();
    for (std::size_t i = 0; i < sourceParameters.size(); ++i)
        targetParameters[i].requires_grad_(sourceParameters[i].requires_grad()); // a frozen part stays frozen
    copy->setTraining(m_module.ptr()->is_training());
    return copy;
}

void ModuleEmbedder::save(const std::filesystem::path &path) const
{
    try {
        writeStateDict(path, stateDict());
    } catch (const EngineError &) {
        throw;
    } catch (const std::exception &error) {
        throw EngineError("Cannot save " + m_spec.name + " weights to '" + path.string() + "': " + error.what());
    }
}

} // namespace icmil::engine
