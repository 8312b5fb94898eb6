// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/resnet50trunc.h"

#include "engine/embedders/torchvisioninit.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/pooling.h>

namespace icmil::engine {

ResNet50TruncImpl::ResNet50TruncImpl(const ResNet50TruncOptions &options)
{
    m_conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 64, 7).stride(2).padding(3).bias(false)));
    m_bn1 = register_module("bn1", torch::nn::BatchNorm2d(64));
    std::int64_t channels = 64;
    m_layer1 = register_module("layer1", makeLayer(channels, 64, 3, 1));
    m_layer2 = register_module("layer2", makeLayer(channels, 128, 4, 2));
    m_layer3 = register_module("layer3", makeLayer(channels, 256, 6, 2));
    initialiseLikeTorchvision(*this, options.seed);
}

torch::nn::Sequential ResNet50TruncImpl::makeLayer(std::int64_t &inChannels, std::int64_t width, int blocks, std::int64_t stride)
{
    torch::nn::Sequential layer;
    for (int block = 0; block < blocks; ++block) {
        layer->push_back(BottleneckBlock(BottleneckBlockOptions{inChannels, width, block == 0 ? stride : 1}));
        inChannels = width * BottleneckBlockImpl::kExpansion;
    }
    return layer;
}

torch::Tensor ResNet50TruncImpl::forward(const torch::Tensor &input)
{
    namespace F = torch::nn::functional;
    torch::Tensor x = F::relu(m_bn1(m_conv1(input)), F::ReLUFuncOptions(true));
    x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
    x = m_layer3->forward(m_layer2->forward(m_layer1->forward(x)));
    return F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
}

} // namespace icmil::engine
