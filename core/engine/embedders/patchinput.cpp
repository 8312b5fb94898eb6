// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/patchinput.h"

#include "engine/engineerror.h"

#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>

#include <sstream>

namespace icmil::engine {

torch::Tensor patchesToModelInput(const torch::Tensor &bgra, int inputSize, torch::Device device)
{
    if (bgra.dim() != 4 || bgra.size(3) != 4 || bgra.scalar_type() != torch::kUInt8) {
        std::ostringstream message;
        message << "Patches must be a B x H x W x 4 uint8 tensor, got " << bgra.sizes() << " of " << bgra.scalar_type();
        throw EngineError(message.str());
    }
    if (inputSize <= 0)
        throw EngineError("The model's input size must be positive, got " + std::to_string(inputSize));

    const bool pinned = bgra.device().is_cpu() && device.is_cuda() && bgra.is_pinned();
    torch::Tensor x = bgra.to(device, /*non_blocking=*/pinned);
    // B x H x W x [b, g, r, a] -> B x [r, g, b] x H x W
    x = x.permute({0, 3, 1, 2}).index_select(1, torch::tensor({2, 1, 0}, torch::TensorOptions(device).dtype(torch::kLong)));
    x = x.to(torch::kFloat32).div_(255.0);
    namespace F = torch::nn::functional;
    if (x.size(2) % inputSize == 0 && x.size(3) % inputSize == 0 && x.size(2) > inputSize) {
        // An integer shrink (256 -> 64): the box average is exactly the antialiased filter, and
        // several times faster than antialiased bilinear on the CPU.
        x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions({inputSize, inputSize}));
    } else if (x.size(2) != inputSize || x.size(3) != inputSize) {
        const bool shrinking = x.size(2) > inputSize || x.size(3) > inputSize;
        x = F::interpolate(x,
                           F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{inputSize, inputSize})
                               .mode(torch::kBilinear)
                               .align_corners(false)
                               .antialias(shrinking));
    }
    return x.contiguous();
}

} // namespace icmil::engine
