// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/mil/maxpoolmil.h"

namespace icmil::engine {

MaxPoolMilModel::MaxPoolMilModel(const MilModelConfig &config) : MilModel(config)
{ }

MilOutput MaxPoolMilModel::forward(const torch::Tensor &bag, std::optional<at::Generator>)
{
    const torch::Tensor h = m_dimReduction(bag);                                            // N x L
    const auto [pooled, winners] = h.max(0);                                                // L, L (index of the instance with the maximum)
    const torch::Tensor wins = torch::bincount(winners, {}, h.size(0)).to(h.scalar_type()); // N
    return {m_classifier(pooled.unsqueeze(0)), wins, wins / static_cast<double>(h.size(1)), {}};
}

} // namespace icmil::engine
