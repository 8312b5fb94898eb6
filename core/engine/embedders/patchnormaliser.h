// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/embedders/embedder.h"

#include <torch/types.h>

#include <string>

namespace icmil::engine {

// The first step of every embedder's forward(): checks that a batch is N x 3 x S x S floating
// point on the embedder's device, then applies (x - mean) / std per channel. Throws EngineError
// naming the embedder ("tiny-cnn expects a batch N x 3 x 64 x 64, got [2, 3, 32, 32]").
class PatchNormaliser {
public:
    PatchNormaliser(std::string owner, int inputSize, const Normalisation &normalisation);

    torch::Tensor operator()(const torch::Tensor &batch) const;
    void to(torch::Device device);
    torch::Device device() const { return m_mean.device(); } // with its index ("cuda:0")

private:
    std::string m_owner;
    int m_inputSize = 0;
    torch::Tensor m_mean; // 1 x 3 x 1 x 1
    torch::Tensor m_std;
};

} // namespace icmil::engine
