// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace icmil::engine {

struct TinyCnnOptions {
    std::uint64_t seed = 0; // for the torchvision-style random initialisation
};

// A small, fast CNN for CPU demos and tests: 64 x 64 patches, four stages of 3x3 convolution
// (stride 2, no bias), batch norm and ReLU (3 -> 16 -> 32 -> 64 -> 128 channels, 64 -> 4 px),
// then a global average pool: 128 features. State-dict keys conv1.weight, bn1.running_mean, ...
// forward() takes an already normalised N x 3 x H x W batch.
class TinyCnnImpl : public torch::nn::Module {
public:
    static constexpr int kInputSize = 64;
    static constexpr int kFeatureDim = 128;

    explicit TinyCnnImpl(const TinyCnnOptions &options = {});

    torch::Tensor forward(const torch::Tensor &input); // N x 128

private:
    torch::nn::Conv2d m_conv1{nullptr};
    torch::nn::BatchNorm2d m_bn1{nullptr};
    torch::nn::Conv2d m_conv2{nullptr};
    torch::nn::BatchNorm2d m_bn2{nullptr};
    torch::nn::Conv2d m_conv3{nullptr};
    torch::nn::BatchNorm2d m_bn3{nullptr};
    torch::nn::Conv2d m_conv4{nullptr};
    torch::nn::BatchNorm2d m_bn4{nullptr};
};

TORCH_MODULE(TinyCnn);

} // namespace icmil::engine
