// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/bottleneckblock.h"

#include <torch/nn/functional/activation.h>

namespace icmil::engine {

namespace {

torch::nn::Conv2d convolution(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride)
{
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).bias(false));
}

} // namespace

BottleneckBlockImpl::BottleneckBlockImpl(const BottleneckBlockOptions &options)
{
    const std::int64_t out = options.width * kExpansion;
    m_conv1 = register_module("conv1", convolution(options.inChannels, options.width, 1, 1));
    m_bn1 = register_module("bn1", torch::nn::BatchNorm2d(options.width));
    m_conv2 = register_module("conv2", convolution(options.width, options.width, 3, options.stride));
    m_bn2 = register_module("bn2", torch::nn::BatchNorm2d(options.width));
    m_conv3 = register_module("conv3", convolution(options.width, out, 1, 1));
    m_bn3 = register_module("bn3", torch::nn::BatchNorm2d(out));
    if (options.stride != 1 || options.inChannels != out) {
        m_downsample = register_module(
            "downsample", torch::nn::Sequential(convolution(options.inChannels, out, 1, options.stride), torch::nn::BatchNorm2d(out)));
    }
}

torch::Tensor BottleneckBlockImpl::forward(const torch::Tensor &input)
{
    namespace F = torch::nn::functional;
    torch::Tensor out = F::relu(m_bn1(m_conv1(input)), F::ReLUFuncOptions(true));
    out = F::relu(m_bn2(m_conv2(out)), F::ReLUFuncOptions(true));
    out = m_bn3(m_conv3(out));
    const torch::Tensor identity = m_downsample ? m_downsample->forward(input) : input;
    return F::relu(out + identity, F::ReLUFuncOptions(true));
}

} // namespace icmil::engine
