// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/torchscriptembedder.h"

#include "engine/engineerror.h"
#include "engine/torchfile/torchfilewriter.h"

#include <torch/csrc/jit/serialization/import.h>

#include <sstream>

namespace icmil::engine {

namespace {

std::string shapeText(c10::IntArrayRef sizes)
{
    std::ostringstream text;
    text << sizes;
    return text.str();
}

// LibTorch errors carry a C++ backtrace, TorchScript ones also a script traceback; a person needs
// the last line ("RuntimeError: mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)").
std::string essentials(const std::exception &error)
{
    const auto *c10Error = dynamic_cast<const c10::Error *>(&error);
    std::string text = c10Error ? c10Error->what_without_backtrace() : error.what();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    const auto lastBreak = text.rfind('\n');
    return lastBreak == std::string::npos ? text : text.substr(lastBreak + 1);
}

} // namespace

std::unique_ptr<TorchScriptEmbedder> TorchScriptEmbedder::load(const std::filesystem::path &modulePath)
{
    const std::string source = "TorchScript file '" + modulePath.string() + "'";
    std::error_code error;
    if (!std::filesystem::is_regular_file(modulePath, error))
        throw EngineError(source + " not found");
    const std::filesystem::path jsonPath = TorchScriptSidecar::pathFor(modulePath);
    if (!std::filesystem::is_regular_file(jsonPath, error)) {
        throw EngineError("TorchScript embedder '" + modulePath.string() + "' needs a JSON file beside it: '" + jsonPath.string()
                          + "' not found (fields: name, input_size, feature_dim, mean, std)");
    }
    TorchScriptSidecar sidecar = TorchScriptSidecar::read(jsonPath);

    torch::jit::Module module;
    try {
        module = torch::jit::load(modulePath.string(), torch::Device(torch::kCPU));
    } catch (const std::exception &loadError) {
        throw EngineError("Cannot load " + source + " as TorchScript: " + essentials(loadError));
    }
    if (!module.find_method("forward"))
        throw EngineError(source + " has no forward() method");
    for (const torch::Tensor &parameter : module.parameters())
        parameter.requires_grad_(true);

    auto embedder = std::make_unique<TorchScriptEmbedder>(std::move(module), std::move(sidecar), modulePath);
    {
        torch::NoGradGuard noGrad;
        const auto size = static_cast<std::int64_t>(embedder->inputSize());
        embedder->forward(torch::full({2, 3, size, size}, 0.5f)); // throws the shape error here, not later
    }
    return embedder;
}

TorchScriptEmbedder::TorchScriptEmbedder(torch::jit::Module module, TorchScriptSidecar sidecar, std::filesystem::path modulePath)
    : m_module(std::move(module)), m_sidecar(std::move(sidecar)), m_path(std::move(modulePath)),
      m_normaliser("TorchScript embedder '" + m_path.string() + "'", m_sidecar.inputSize, m_sidecar.normalisation)
{
    m_module.eval();
}

std::string TorchScriptEmbedder::jsonName() const
{
    return TorchScriptSidecar::pathFor(m_path).string();
}

torch::Tensor TorchScriptEmbedder::forward(const torch::Tensor &batch)
{
    const torch::Tensor input = m_normaliser(batch);
    const std::string owner = "TorchScript embedder '" + m_path.string() + "'";
    c10::IValue output;
    try {
        output = m_module.forward({input});
    } catch (const std::exception &error) {
        throw EngineError(owner + " failed on a batch " + shapeText(batch.sizes()) + ": " + essentials(error));
    }
    const std::string expected = "expected [N, D] = [" + std::to_string(batch.size(0)) + ", " + std::to_string(m_sidecar.featureDim)
        + "] with D = feature_dim from '" + jsonName() + "'";
    if (!output.isTensor())
        throw EngineError(owner + " returned a " + output.tagKind() + ", " + expected);
    torch::Tensor features = output.toTensor();
    if (features.dim() != 2 || features.size(0) != batch.size(0) || features.size(1) != m_sidecar.featureDim)
        throw EngineError(owner + " returned shape " + shapeText(features.sizes()) + ", " + expected);
    return features;
}

std::vector<torch::Tensor> TorchScriptEmbedder::parameters()
{
    std::vector<torch::Tensor> result;
    for (const torch::Tensor &parameter : m_module.parameters())
        result.push_back(parameter);
    return result;
}

void TorchScriptEmbedder::setTraining(bool training)
{
    m_module.train(training);
}

void TorchScriptEmbedder::setBatchNormTraining(bool training)
{
    for (torch::jit::Module module : m_module.modules())
        if (module.type()->name() && module.type()->name()->qualifiedName().find("BatchNorm") != std::string::npos)
            module.train(training);
}

void TorchScriptEmbedder::to(torch::Device device)
{
    m_module.to(device);
    m_normaliser.to(device);
}

std::unique_ptr<Embedder> TorchScriptEmbedder::clone() const
{
    torch::jit::Module copy;
    {
        // Module::clone() deep-copies with Tensor::clone(); outside no-grad mode that would make
        // the copies non-leaf tensors tied to the original's graph.
        torch::NoGradGuard noGrad;
        copy = m_module.clone();
    }
    const auto originals = m_module.parameters();
    auto original = originals.begin();
    for (const torch::Tensor &parameter : copy.parameters()) {
        parameter.requires_grad_((*original).requires_grad());
        ++original;
    }
    auto embedder = std::make_unique<TorchScriptEmbedder>(std::move(copy), m_sidecar, m_path);
    embedder->m_normaliser.to(device()); // the module's copy is already there
    embedder->setTraining(m_module.is_training());
    return embedder;
}

void TorchScriptEmbedder::save(const std::filesystem::path &path) const
{
    std::ostringstream bytes;
    try {
        m_module.save(bytes);
    } catch (const std::exception &error) {
        throw EngineError("Cannot save TorchScript embedder to '" + path.string() + "': " + essentials(error));
    }
    writeFileAtomically(path, bytes.str());
    m_sidecar.write(TorchScriptSidecar::pathFor(path));
}

} // namespace icmil::engine
