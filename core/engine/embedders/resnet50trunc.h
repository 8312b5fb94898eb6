// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/embedders/bottleneckblock.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace icmil::engine {

struct ResNet50TruncOptions {
    std::uint64_t seed = 0; // for the torchvision-style random initialisation
};

// torchvision's ResNet-50 cut after layer3, then a global average pool: 1024 features per patch
// (CLAM's resnet50_baseline, the embedder ICMIL fine-tunes). conv1 7x7/2, bn1, ReLU, max pool
// 3x3/2, layer1 (3 bottlenecks, 256 out), layer2 (4, 512, /2), layer3 (6, 1024, /2). Parameter and
// buffer names are torchvision's ("layer1.0.downsample.0.weight"), so its state dicts load as they
// are (minus layer4.* and fc.*). forward() takes an already normalised N x 3 x H x W batch.
class ResNet50TruncImpl : public torch::nn::Module {
public:
    static constexpr int kInputSize = 224;
    static constexpr int kFeatureDim = 1024;

    explicit ResNet50TruncImpl(const ResNet50TruncOptions &options = {});

    torch::Tensor forward(const torch::Tensor &input); // N x 1024

private:
    torch::nn::Sequential makeLayer(std::int64_t &inChannels, std::int64_t width, int blocks, std::int64_t stride);

    torch::nn::Conv2d m_conv1{nullptr};
    torch::nn::BatchNorm2d m_bn1{nullptr};
    torch::nn::Sequential m_layer1{nullptr};
    torch::nn::Sequential m_layer2{nullptr};
    torch::nn::Sequential m_layer3{nullptr};
};

TORCH_MODULE(ResNet50Trunc);

} // namespace icmil::engine
