// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/torchvisioninit.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

#include <cmath>

namespace icmil::engine {

void initialiseLikeTorchvision(torch::nn::Module &module, std::uint64_t seed)
{
    torch::NoGradGuard noGrad;
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    const auto initialise = [&](torch::nn::Module &each) {
        if (auto *conv = each.as<torch::nn::Conv2d>()) {
            // kaiming_normal_(mode="fan_out", nonlinearity="relu"): std = sqrt(2 / fan_out).
            const torch::Tensor &weight = conv->weight;
            const double fanOut = static_cast<double>(weight.numel() / weight.size(1));
            const torch::Tensor values
                = torch::empty(weight.sizes(), weight.options().device(torch::kCPU)).normal_(0.0, std::sqrt(2.0 / fanOut), generator);
            conv->weight.copy_(values);
            if (conv->bias.defined())
                conv->bias.zero_();
        } else if (auto *norm = each.as<torch::nn::BatchNorm2d>()) {
            norm->reset_parameters(); // weight 1, bias 0, running mean 0, var 1, batches 0
        }
    };
    initialise(module);
    for (const auto &child : module.modules(/*include_self=*/false))
        initialise(*child);
}

} // namespace icmil::engine
