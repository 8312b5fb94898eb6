// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/embedder.h"
#include "common/asciicase.h"

#include "engine/engineerror.h"
#include "engine/embedders/moduleembedder.h"
#include "engine/embedders/resnet50trunc.h"
#include "engine/embedders/tinycnn.h"
#include "engine/torchfile/torchfile.h"
#include "engine/embedders/torchscriptembedder.h"

#include <algorithm>

namespace icmil::engine {

namespace {

ModuleEmbedder::Spec resnet50TruncSpec()
{
    ModuleEmbedder::Spec spec;
    spec.name = kResNet50TruncName;
    spec.inputSize = ResNet50TruncImpl::kInputSize;
    spec.featureDim = ResNet50TruncImpl::kFeatureDim;
    spec.ignoredWeightPrefixes = {"layer4.", "fc."}; // a full torchvision ResNet-50 file
    spec.build = [](std::uint64_t seed) { return torch::nn::AnyModule(ResNet50Trunc(ResNet50TruncOptions{seed})); };
    return spec;
}

ModuleEmbedder::Spec tinyCnnSpec()
{
    ModuleEmbedder::Spec spec;
    spec.name = kTinyCnnName;
    spec.inputSize = TinyCnnImpl::kInputSize;
    spec.featureDim = TinyCnnImpl::kFeatureDim;
    spec.build = [](std::uint64_t seed) { return torch::nn::AnyModule(TinyCnn(TinyCnnOptions{seed})); };
    return spec;
}

bool isTorchScriptName(const std::filesystem::path &path)
{
    const std::string extension = asciiLower(path.extension().string());
    return extension == ".pt" || extension == ".ts" || extension == ".torchscript";
}

std::unique_ptr<Embedder> makeBuiltIn(ModuleEmbedder::Spec spec, const EmbedderConfig &config)
{
    auto embedder = std::make_unique<ModuleEmbedder>(std::move(spec), config.seed);
    if (config.weights.empty())
        return embedder;
    const std::string source = "Weights '" + config.weights.string() + "'";
    std::error_code error;
    if (!std::filesystem::is_regular_file(config.weights, error))
        throw EngineError(source + " for " + embedder->name() + " not found");
    StateDict state;
    try {
        state = readStateDict(config.weights);
    } catch (const EngineError &) {
        throw;
    } catch (const std::exception &readError) {
        throw EngineError("Cannot read " + source + ": " + readError.what());
    }
    embedder->loadWeights(state, source);
    return embedder;
}

} // namespace

std::unique_ptr<Embedder> makeEmbedder(const EmbedderConfig &config)
{
    if (config.name == kResNet50TruncName)
        return makeBuiltIn(resnet50TruncSpec(), config);
    if (config.name == kTinyCnnName)
        return makeBuiltIn(tinyCnnSpec(), config);
    if (isTorchScriptName(config.name)) {
        if (!config.weights.empty()) {
            throw EngineError("TorchScript embedder '" + config.name + "' carries its own weights; weights '" + config.weights.string()
                              + "' are only for resnet50-trunc and tiny-cnn");
        }
        return TorchScriptEmbedder::load(config.name);
    }
    throw EngineError("Unknown embedder '" + config.name
                      + "': expected resnet50-trunc, tiny-cnn, or a TorchScript file (.pt) with a JSON beside it");
}

} // namespace icmil::engine
