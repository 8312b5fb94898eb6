// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace icmil::engine {

struct BottleneckBlockOptions {
    std::int64_t inChannels = 64;
    std::int64_t width = 64; // channels of the 1x1 -> 3x3 part; the block puts out 4 x width
    std::int64_t stride = 1; // on the 3x3 convolution (torchvision's "ResNet v1.5")
};

// torchvision's Bottleneck: conv1 1x1, bn1, conv2 3x3 (stride), bn2, conv3 1x1 (x4), bn3, plus a
// "downsample" (0: 1x1 conv with the stride, 1: batch norm) when the shape changes. Submodule
// names equal torchvision's, so its state-dict keys do too.
class BottleneckBlockImpl : public torch::nn::Module {
public:
    static constexpr std::int64_t kExpansion = 4;

    explicit BottleneckBlockImpl(const BottleneckBlockOptions &options);

    torch::Tensor forward(const torch::Tensor &input);

private:
    torch::nn::Conv2d m_conv1{nullptr};
    torch::nn::BatchNorm2d m_bn1{nullptr};
    torch::nn::Conv2d m_conv2{nullptr};
    torch::nn::BatchNorm2d m_bn2{nullptr};
    torch::nn::Conv2d m_conv3{nullptr};
    torch::nn::BatchNorm2d m_bn3{nullptr};
    torch::nn::Sequential m_downsample{nullptr}; // null when input and output shapes agree
};

TORCH_MODULE(BottleneckBlock);

} // namespace icmil::engine
