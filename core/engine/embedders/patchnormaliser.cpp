// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/patchnormaliser.h"

#include "engine/engineerror.h"

#include <sstream>

namespace icmil::engine {

namespace {

std::string shapeText(const torch::Tensor &tensor)
{
    std::ostringstream text;
    text << tensor.sizes();
    return text.str();
}

torch::Tensor channelTensor(const std::array<float, 3> &values)
{
    return torch::tensor({values[0], values[1], values[2]}, torch::kFloat).view({1, 3, 1, 1});
}

} // namespace

PatchNormaliser::PatchNormaliser(std::string owner, int inputSize, const Normalisation &normalisation)
    : m_owner(std::move(owner)), m_inputSize(inputSize), m_mean(channelTensor(normalisation.mean)), m_std(channelTensor(normalisation.std))
{ }

torch::Tensor PatchNormaliser::operator()(const torch::Tensor &batch) const
{
    const auto size = static_cast<std::int64_t>(m_inputSize);
    if (!batch.defined())
        throw EngineError(m_owner + " got an empty (undefined) batch");
    if (batch.dim() != 4 || batch.size(1) != 3 || batch.size(2) != size || batch.size(3) != size) {
        throw EngineError(m_owner + " expects a batch N x 3 x " + std::to_string(size) + " x " + std::to_string(size) + ", got "
                          + shapeText(batch));
    }
    if (!batch.is_floating_point()) {
        throw EngineError(m_owner + " expects floating-point pixels in [0, 1], got " + std::string(c10::toString(batch.scalar_type())));
    }
    if (batch.device() != m_mean.device()) {
        throw EngineError(m_owner + " is on " + m_mean.device().str() + " but the batch is on " + batch.device().str());
    }
    return (batch - m_mean.to(batch.scalar_type())) / m_std.to(batch.scalar_type());
}

void PatchNormaliser::to(torch::Device device)
{
    m_mean = m_mean.to(device);
    m_std = m_std.to(device);
}

} // namespace icmil::engine
