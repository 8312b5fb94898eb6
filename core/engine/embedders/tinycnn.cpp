// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/tinycnn.h"

#include "engine/embedders/torchvisioninit.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>

namespace icmil::engine {

namespace {

torch::nn::Conv2d stage(std::int64_t in, std::int64_t out)
{
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(2).padding(1).bias(false));
}

} // namespace

TinyCnnImpl::TinyCnnImpl(const TinyCnnOptions &options)
{
    m_conv1 = register_module("conv1", stage(3, 16));
    m_bn1 = register_module("bn1", torch::nn::BatchNorm2d(16));
    m_conv2 = register_module("conv2", stage(16, 32));
    m_bn2 = register_module("bn2", torch::nn::BatchNorm2d(32));
    m_conv3 = register_module("conv3", stage(32, 64));
    m_bn3 = register_module("bn3", torch::nn::BatchNorm2d(64));
    m_conv4 = register_module("conv4", stage(64, 128));
    m_bn4 = register_module("bn4", torch::nn::BatchNorm2d(128));
    initialiseLikeTorchvision(*this, options.seed);
}

torch::Tensor TinyCnnImpl::forward(const torch::Tensor &input)
{
    namespace F = torch::nn::functional;
    const F::ReLUFuncOptions inPlace(true);
    torch::Tensor x = F::relu(m_bn1(m_conv1(input)), inPlace);
    x = F::relu(m_bn2(m_conv2(x)), inPlace);
    x = F::relu(m_bn3(m_conv3(x)), inPlace);
    x = F::relu(m_bn4(m_conv4(x)), inPlace);
    return F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
}

} // namespace icmil::engine
