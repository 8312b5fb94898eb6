// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <torch/types.h>

namespace icmil::engine {

// Turns patches as a slide reader delivers them into what Embedder::forward() takes.
//
// `bgra`: B x H x W x 4 uint8, bytes in memory order blue, green, red, alpha (premultiplied
// ARGB32 on a little-endian machine: SlideSource::readRegionArgb's pixels). Moved to `device`
// as uint8 (a quarter of the bytes of float), then reordered to RGB, scaled to [0, 1] and, when
// H or W differs from `inputSize`, resized: box average for an integer shrink (256 -> 64), else
// bilinear interpolation (antialiased when shrinking, as PIL and torchvision's Resize do).
// Returns B x 3 x inputSize x inputSize float32.
// Throws EngineError for a tensor of another shape or type, or a non-positive inputSize.
torch::Tensor patchesToModelInput(const torch::Tensor &bgra, int inputSize, torch::Device device);

} // namespace icmil::engine
