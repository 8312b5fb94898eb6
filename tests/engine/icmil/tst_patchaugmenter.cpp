// SPDX-License-Identifier: GPL-3.0-or-later
// The student's augmentation: flips and RandomResizedCrop as the ICMIL reference draws them,
// applied on the device by one grid_sample; seeded, shape-keeping, exact where it can be.

#include "engine/icmil/patchaugmenter.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/upsampling.h>

#include "enginecheck.h"

using namespace icmil::engine;

namespace {

at::Generator seeded(std::uint64_t seed)
{
    return at::make_generator<at::CPUGeneratorImpl>(seed);
}

torch::Tensor patches(std::int64_t n, std::int64_t side)
{
    auto generator = seeded(99);
    return torch::rand({n, 3, side, side}, generator);
}

AugmentationConfig fixedCrop(double scale)
{
    AugmentationConfig config;
    config.horizontalFlipProbability = 0.0;
    config.verticalFlipProbability = 0.0;
    config.minScale = config.maxScale = scale;
    config.minRatio = config.maxRatio = 1.0;
    return config;
}

} // namespace

ENGINE_TEST(identityWhenNothingIsDrawn)
{
    const torch::Tensor input = patches(4, 32);
    auto generator = seeded(1);
    const torch::Tensor output = augmentPatches(input, fixedCrop(1.0), generator);
    CHECK_EQ(output.sizes().vec(), input.sizes().vec());
    CHECK(torch::allclose(output, input, 1e-5, 1e-6));
}

ENGINE_TEST(flipsAreExactMirrors)
{
    const torch::Tensor input = patches(3, 16);
    AugmentationConfig both = fixedCrop(1.0);
    both.horizontalFlipProbability = 1.0;
    both.verticalFlipProbability = 1.0;
    auto generator = seeded(2);
    CHECK(torch::allclose(augmentPatches(input, both, generator), input.flip({2, 3}), 1e-5, 1e-6));
    AugmentationConfig horizontal = fixedCrop(1.0);
    horizontal.horizontalFlipProbability = 1.0;
    CHECK(torch::allclose(augmentPatches(input, horizontal, generator), input.flip({3}), 1e-5, 1e-6));
}

ENGINE_TEST(cropIsTheBoxResizedBilinearly)
{
    const torch::Tensor input = patches(2, 64);
    auto generator = seeded(3);
    std::vector<AugmentationDraw> draws;
    const torch::Tensor output = augmentPatches(input, fixedCrop(0.25), generator, &draws);
    CHECK_EQ(draws.size(), std::size_t{2});
    namespace F = torch::nn::functional;
    for (std::size_t i = 0; i < draws.size(); ++i) {
        const AugmentationDraw &d = draws[i];
        CHECK_EQ(d.width, 32); // round(sqrt(64 * 64 * 0.25))
        CHECK_EQ(d.height, 32);
        CHECK(d.left >= 0 && d.left + d.width <= 64 && d.top >= 0 && d.top + d.height <= 64);
        const torch::Tensor box
            = input[static_cast<std::int64_t>(i)].unsqueeze(0).slice(2, d.top, d.top + d.height).slice(3, d.left, d.left + d.width);
        const torch::Tensor resized = F::interpolate(
            box, F::InterpolateFuncOptions().size(std::vector<std::int64_t>{64, 64}).mode(torch::kBilinear).align_corners(false));
        // Interior pixels: at the box's edge grid_sample blends in the neighbouring input pixel,
        // where interpolate on the cut-out box repeats the edge.
        const torch::Tensor a = output[static_cast<std::int64_t>(i)].slice(1, 1, 63).slice(2, 1, 63);
        const torch::Tensor b = resized[0].slice(1, 1, 63).slice(2, 1, 63);
        CHECK(torch::allclose(a, b, 1e-4, 1e-5));
    }
}

ENGINE_TEST(seededAndPerPatch)
{
    const torch::Tensor input = patches(8, 32);
    AugmentationConfig config; // the reference's: flips at 0.5, scale 0.5-1
    auto a = seeded(7);
    auto b = seeded(7);
    auto c = seeded(8);
    std::vector<AugmentationDraw> drawsA;
    const torch::Tensor outA = augmentPatches(input, config, a, &drawsA);
    CHECK(torch::equal(outA, augmentPatches(input, config, b)));
    CHECK(!torch::equal(outA, augmentPatches(input, config, c)));
    // Each patch has its own draw.
    bool differ = false;
    for (std::size_t i = 1; i < drawsA.size(); ++i)
        differ = differ || drawsA[i].left != drawsA[0].left || drawsA[i].width != drawsA[0].width;
    CHECK(differ);
}

ENGINE_TEST(drawsFollowTheDistributions)
{
    AugmentationConfig config;
    auto generator = seeded(11);
    int horizontal = 0;
    int vertical = 0;
    const int n = 2000;
    for (int i = 0; i < n; ++i) {
        const AugmentationDraw d = drawAugmentation(256, config, generator);
        const double area = static_cast<double>(d.width) * d.height / (256.0 * 256.0);
        const double ratio = static_cast<double>(d.width) / d.height;
        CHECK(area >= 0.49 && area <= 1.0);
        CHECK(ratio >= 0.74 && ratio <= 1.35);
        CHECK(d.left >= 0 && d.top >= 0 && d.left + d.width <= 256 && d.top + d.height <= 256);
        horizontal += d.flipHorizontal;
        vertical += d.flipVertical;
    }
    CHECK(horizontal > n * 0.45 && horizontal < n * 0.55);
    CHECK(vertical > n * 0.45 && vertical < n * 0.55);
}

ENGINE_TEST(badInput)
{
    auto generator = seeded(1);
    AugmentationConfig bad;
    bad.minScale = 0.0;
    CHECK_THROWS_MESSAGE(drawAugmentation(64, bad, generator),
                         "Augmentation needs flip probabilities in [0, 1], 0 < min scale <= max scale <= 1, 0 < min ratio <= max ratio "
                         "and a stain jitter in [0, 1]");
    CHECK_THROWS_MESSAGE(augmentPatches(torch::zeros({2, 3, 8, 9}), AugmentationConfig{}, generator),
                         "Augmentation needs a batch of square patches, N x C x S x S");
}

ENGINE_TEST(aShardGetsItsRowsOfTheWholeBatchsDraws)
{
    // A data-parallel rank's rows of a batch (BatchShard) get exactly the augmentation those rows
    // get in the whole batch, stain jitter included, and the generator ends where the whole
    // batch leaves it, also for a rank with no rows.
    AugmentationConfig config;
    config.stainJitter = 0.2;
    const torch::Tensor batch = patches(5, 32);
    auto wholeGenerator = seeded(7);
    const torch::Tensor whole = augmentPatches(batch, config, wholeGenerator);
    const double nextOfWhole = torch::rand({1}, wholeGenerator).item<double>();
    for (const auto &[low, high] : std::vector<std::pair<std::int64_t, std::int64_t>>{{0, 2}, {2, 5}, {4, 5}, {3, 3}}) {
        auto generator = seeded(7);
        std::vector<AugmentationDraw> draws;
        const torch::Tensor part = augmentPatches(batch.slice(0, low, high), config, generator, &draws, BatchShard{5, low});
        CHECK_EQ(part.size(0), high - low);
        CHECK(torch::equal(part, whole.slice(0, low, high)));
        CHECK_EQ(static_cast<std::int64_t>(draws.size()), high - low);
        CHECK_EQ(torch::rand({1}, generator).item<double>(), nextOfWhole);
    }
    auto generator = seeded(7);
    CHECK_THROWS_MESSAGE(augmentPatches(batch.slice(0, 0, 3), config, generator, nullptr, BatchShard{5, 3}),
                         "Augmentation needs a batch of square patches, N x C x S x S");
}
