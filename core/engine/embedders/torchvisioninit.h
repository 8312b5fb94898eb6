// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>

namespace torch::nn {
class Module;
}

namespace icmil::engine {

// Initialises a convolutional network the way torchvision's ResNet constructor does, but from its
// own generator seeded with `seed` (LibTorch's global generator is left untouched): every Conv2d
// weight ~ kaiming normal (fan_out, ReLU gain), conv biases 0, BatchNorm weight 1, bias 0 and fresh
// running statistics. The same seed always gives the same weights on every machine.
void initialiseLikeTorchvision(torch::nn::Module &module, std::uint64_t seed);

} // namespace icmil::engine
