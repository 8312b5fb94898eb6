// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/icmil/patchaugmenter.h"

#include "engine/engineerror.h"
#include "engine/stain/stainnormaliser.h"

#include <torch/nn/functional/vision.h>

#include <algorithm>
#include <cmath>

namespace icmil::engine {

namespace {

double uniform(at::Generator &generator, double low, double high)
{
    return torch::empty({1}, torch::kDouble).uniform_(low, high, generator).item<double>();
}

int randomInt(at::Generator &generator, int lowInclusive, int highExclusive)
{
    return static_cast<int>(torch::randint(lowInclusive, highExclusive, {1}, generator, torch::kLong).item<std::int64_t>());
}

void checkConfig(const AugmentationConfig &c)
{
    const bool probabilities = c.horizontalFlipProbability >= 0.0 && c.horizontalFlipProbability <= 1.0 && c.verticalFlipProbability >= 0.0
        && c.verticalFlipProbability <= 1.0;
    const bool scales = c.minScale > 0.0 && c.minScale <= c.maxScale && c.maxScale <= 1.0;
    const bool ratios = c.minRatio > 0.0 && c.minRatio <= c.maxRatio;
    const bool stain = c.stainJitter >= 0.0 && c.stainJitter <= 1.0;
    if (!probabilities || !scales || !ratios || !stain)
        throw EngineError("Augmentation needs flip probabilities in [0, 1], 0 < min scale <= max scale <= 1, 0 < min ratio <= max "
                          "ratio and a stain jitter in [0, 1]");
}

} // namespace

AugmentationDraw drawAugmentation(int side, const AugmentationConfig &config, at::Generator &generator)
{
    checkConfig(config);
    AugmentationDraw draw;
    const double area = static_cast<double>(side) * side;
    const double logLow = std::log(config.minRatio);
    const double logHigh = std::log(config.maxRatio);
    bool found = false;
    for (int attempt = 0; attempt < 10 && !found; ++attempt) {
        const double targetArea = area * uniform(generator, config.minScale, config.maxScale);
        const double ratio = std::exp(logLow == logHigh ? logLow : uniform(generator, logLow, logHigh));
        const int w = static_cast<int>(std::lround(std::sqrt(targetArea * ratio)));
        const int h = static_cast<int>(std::lround(std::sqrt(targetArea / ratio)));
        if (w > 0 && w <= side && h > 0 && h <= side) {
            draw.width = w;
            draw.height = h;
            draw.top = randomInt(generator, 0, side - h + 1);
            draw.left = randomInt(generator, 0, side - w + 1);
            found = true;
        }
    }
    if (!found) { // torchvision's fallback: the whole patch, cut to the ratio range, centred
        draw.width = side;
        draw.height = side;
        if (1.0 < config.minRatio)
            draw.height = static_cast<int>(std::lround(side / config.minRatio));
        else if (1.0 > config.maxRatio)
            draw.width = static_cast<int>(std::lround(side * config.maxRatio));
        draw.top = (side - draw.height) / 2;
        draw.left = (side - draw.width) / 2;
    }
    draw.flipHorizontal = uniform(generator, 0.0, 1.0) < config.horizontalFlipProbability;
    draw.flipVertical = uniform(generator, 0.0, 1.0) < config.verticalFlipProbability;
    return draw;
}

torch::Tensor augmentPatches(const torch::Tensor &batch, const AugmentationConfig &config, at::Generator &generator,
                             std::vector<AugmentationDraw> *draws, BatchShard shard)
{
    const std::int64_t n = batch.dim() == 4 ? batch.size(0) : 0;
    const std::int64_t total = shard.total(n);
    if (batch.dim() != 4 || batch.size(2) != batch.size(3) || (shard.whole() && n < 1) || shard.offset < 0 || shard.offset + n > total)
        throw EngineError("Augmentation needs a batch of square patches, N x C x S x S");
    const int side = static_cast<int>(batch.size(3));
    // One affine map per patch from output to input coordinates (normalised to [-1, 1], pixel
    // centres, align_corners = false): the crop box, mirrored where the patch is flipped.
    torch::Tensor theta = torch::zeros({n, 2, 3}, torch::kFloat);
    auto t = theta.accessor<float, 3>();
    if (draws)
        draws->clear();
    for (std::int64_t global = 0; global < total; ++global) {
        const AugmentationDraw d = drawAugmentation(side, config, generator);
        const std::int64_t i = global - shard.offset;
        if (i < 0 || i >= n)
            continue;
        t[i][0][0] = static_cast<float>(static_cast<double>(d.width) / side * (d.flipHorizontal ? -1.0 : 1.0));
        t[i][0][2] = static_cast<float>((2.0 * d.left + d.width) / side - 1.0);
        t[i][1][1] = static_cast<float>(static_cast<double>(d.height) / side * (d.flipVertical ? -1.0 : 1.0));
        t[i][1][2] = static_cast<float>((2.0 * d.top + d.height) / side - 1.0);
        if (draws)
            draws->push_back(d);
    }
    const bool jitter = config.stainJitter > 0.0 && batch.size(1) == 3;
    if (n == 0) {
        if (jitter) // the stain draws of the whole batch, so the generator stays in step
            jitterStains(batch, config.stainJitter, generator, shard);
        return batch.to(torch::kFloat);
    }
    namespace F = torch::nn::functional;
    const torch::Tensor input = batch.to(torch::kFloat);
    const torch::Tensor grid = F::affine_grid(theta.to(batch.device()), {n, batch.size(1), side, side}, /*align_corners=*/false);
    const torch::Tensor cropped
        = F::grid_sample(input, grid, F::GridSampleFuncOptions().mode(torch::kBilinear).padding_mode(torch::kBorder).align_corners(false));
    // The stains after the geometry (its draws come after the patches' crops and flips).
    return jitter ? jitterStains(cropped, config.stainJitter, generator, shard) : cropped;
}

} // namespace icmil::engine
