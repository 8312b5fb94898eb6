// SPDX-License-Identifier: GPL-3.0-or-later
// Stain normalisation (Macenko, Reinhard) and HED stain augmentation on patch batches, checked
// on patches rendered by Beer-Lambert from known stain vectors and concentrations.

#include "engine/stain/stainnormaliser.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>
#include <numbers>

#include "enginecheck.h"

using namespace icmil::engine;

namespace {

at::Generator seeded(std::uint64_t seed)
{
    return at::make_generator<at::CPUGeneratorImpl>(seed);
}

torch::Tensor unit(std::array<double, 3> v)
{
    const torch::Tensor t = torch::tensor({v[0], v[1], v[2]}, torch::kDouble);
    return t / t.norm();
}

// Concentrations (N x 2 x S x S) of haematoxylin and eosin: each pixel a random mixture, a
// fifth of them glass, some nearly pure in one stain (as nuclei and stroma are).
torch::Tensor concentrations(std::int64_t n, std::int64_t side, std::uint64_t seed)
{
    auto generator = seeded(seed);
    torch::Tensor c = torch::rand({n, 2, side, side}, generator, torch::kDouble);
    c.select(1, 0).mul_(1.6);
    c.select(1, 1).mul_(0.9);
    const torch::Tensor glass = torch::rand({n, 1, side, side}, generator, torch::kDouble).lt(0.2);
    return c.masked_fill(glass, 0.02);
}

// I = exp(-(h c_H + e c_E)), quantised to bytes as a scanner delivers it.
torch::Tensor render(const torch::Tensor &c, const torch::Tensor &h, const torch::Tensor &e)
{
    const torch::Tensor od = c.select(1, 0).unsqueeze(1) * h.view({1, 3, 1, 1}) + c.select(1, 1).unsqueeze(1) * e.view({1, 3, 1, 1});
    return (od.neg().exp() * 255.0).round().div(255.0).to(torch::kFloat);
}

double degreesBetween(const std::array<double, 3> &a, const torch::Tensor &b)
{
    const torch::Tensor u = unit(a);
    return std::acos(std::clamp(torch::dot(u, b).item<double>(), -1.0, 1.0)) * 180.0 / std::numbers::pi;
}

const torch::Tensor kSourceH = unit({0.55, 0.78, 0.30}); // a centre's stains, away from the reference
const torch::Tensor kSourceE = unit({0.12, 0.92, 0.37});

} // namespace

ENGINE_TEST(macenkoRecoversKnownStainVectors)
{
    const torch::Tensor c = concentrations(8, 64, 1);
    const StainProfile profile = estimateStainProfile(render(c, kSourceH, kSourceE));
    std::cout << "  haematoxylin off by " << degreesBetween(profile.haematoxylin, kSourceH) << " degrees, eosin by "
              << degreesBetween(profile.eosin, kSourceE) << "; max concentrations " << profile.maxConcentration[0] << " "
              << profile.maxConcentration[1] << "\n";
    // Within 2 degrees of the true vectors, and the concentrations' 99th percentile within 5%.
    CHECK(degreesBetween(profile.haematoxylin, kSourceH) < 2.0);
    CHECK(degreesBetween(profile.eosin, kSourceE) < 2.0);
    CHECK_NEAR(profile.maxConcentration[0], 1.6 * 0.99, 0.05 * 1.6);
    CHECK_NEAR(profile.maxConcentration[1], 0.9 * 0.99, 0.05 * 0.9);
    CHECK(profile.pixels > 8 * 64 * 64 / 2);
}

ENGINE_TEST(patchesWithPenInkAreLeftOutOfASlidesEstimate)
{
    // Ten patches of a slide, two of them crossed by a cyan marker (red absorbed, on glass and
    // tissue alike): pooled, the ink's extreme angle takes the haematoxylin's place.
    torch::Tensor c = concentrations(10, 48, 9);
    torch::Tensor od
        = c.select(1, 0).unsqueeze(1) * kSourceH.view({1, 3, 1, 1}) + c.select(1, 1).unsqueeze(1) * kSourceE.view({1, 3, 1, 1});
    const torch::Tensor ink = torch::tensor({1.4, 0.15, 0.2}, torch::kDouble).view({1, 3, 1, 1});
    od.slice(0, 3, 4).add_(ink);
    od.slice(0, 7, 8).add_(ink);
    const torch::Tensor rgb = (od.neg().exp() * 255.0).round().div(255.0).to(torch::kFloat);
    const StainProfile pooled = estimateStainProfile(rgb);
    int leftOut = -1;
    const StainProfile robust = estimateStainProfileOfPatches(rgb, &leftOut);
    std::cout << "  haematoxylin pooled off by " << degreesBetween(pooled.haematoxylin, kSourceH) << " degrees, without outliers "
              << degreesBetween(robust.haematoxylin, kSourceH) << "\n";
    CHECK(degreesBetween(pooled.haematoxylin, kSourceH) > 10.0);
    CHECK_EQ(leftOut, 2);
    CHECK(degreesBetween(robust.haematoxylin, kSourceH) < 2.0);
    CHECK(degreesBetween(robust.eosin, kSourceE) < 2.0);
    // Clean patches lose none.
    estimateStainProfileOfPatches(render(c, kSourceH, kSourceE), &leftOut);
    CHECK_EQ(leftOut, 0);
}

ENGINE_TEST(macenkoMapsASlideOntoTheReferenceStain)
{
    const torch::Tensor c = concentrations(6, 48, 2);
    const StainProfile builtIn = builtInStainReference();
    const torch::Tensor refH = unit(builtIn.haematoxylin), refE = unit(builtIn.eosin);
    const torch::Tensor reference = render(c, refH, refE);
    StainNormalisation settings;
    settings.method = StainMethod::Macenko;
    settings.reference = estimateStainProfile(reference);
    const StainNormaliser normaliser(settings);
    const torch::Tensor source = render(c, kSourceH, kSourceE);
    const torch::Tensor normalised = normaliser.apply(source, normaliser.slideTransform(estimateStainProfile(source)));
    const double before = (source - reference).abs().mean().item<double>();
    const double after = (normalised - reference).abs().mean().item<double>();
    std::cout << "  mean |source - reference| " << before << ", after Macenko " << after << "\n";
    CHECK(before > 0.04);
    CHECK(after < 0.005);
    // Its stain estimate is now the reference's.
    const StainProfile again = estimateStainProfile(normalised);
    CHECK(degreesBetween(again.haematoxylin, refH) < 2.0);
    CHECK(degreesBetween(again.eosin, refE) < 2.0);
}

ENGINE_TEST(reinhardMatchesTheReferenceStatistics)
{
    const torch::Tensor c = concentrations(6, 48, 3);
    StainNormalisation settings;
    settings.method = StainMethod::Reinhard;
    settings.reference = builtInStainReference();
    const StainNormaliser normaliser(settings);
    const torch::Tensor source = render(c, kSourceH, kSourceE);
    const torch::Tensor normalised = normaliser.apply(source, normaliser.slideTransform(estimateStainProfile(source)));
    const StainProfile after = estimateStainProfile(normalised);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK_NEAR(after.labMean[i], settings.reference.labMean[i], 0.03);
        CHECK_NEAR(after.labStd[i], settings.reference.labStd[i], 0.03);
    }
}

ENGINE_TEST(normalisationIsDeterministicAndBatchSizeIndependent)
{
    const torch::Tensor source = render(concentrations(7, 40, 4), kSourceH, kSourceE);
    for (StainMethod method : {StainMethod::Macenko, StainMethod::Reinhard}) {
        StainNormalisation settings;
        settings.method = method;
        const StainNormaliser normaliser(settings);
        const torch::Tensor transform = normaliser.slideTransform(estimateStainProfile(source));
        const torch::Tensor whole = normaliser.apply(source, transform);
        CHECK(torch::equal(whole, normaliser.apply(source, transform)));
        std::vector<torch::Tensor> pieces;
        for (std::int64_t first = 0; first < 7; first += 3)
            pieces.push_back(normaliser.apply(source.slice(0, first, std::min<std::int64_t>(first + 3, 7)), transform));
        CHECK(torch::equal(whole, torch::cat(pieces)));
        // One patch alone, with its own transform in an N x 3 x 4 stack, is the same too.
        CHECK(torch::equal(whole.slice(0, 2, 3), normaliser.apply(source.slice(0, 2, 3), transform.unsqueeze(0))));
        // The estimate repeats exactly, and another order of the pixels changes only rounding.
        const StainProfile profile = estimateStainProfile(source);
        CHECK(profile == estimateStainProfile(source));
        const StainProfile flipped = estimateStainProfile(source.flip({0}));
        for (std::size_t i = 0; i < 3; ++i) {
            CHECK_NEAR(profile.haematoxylin[i], flipped.haematoxylin[i], 1e-5);
            CHECK_NEAR(profile.labMean[i], flipped.labMean[i], 1e-5);
        }
    }
}

ENGINE_TEST(identityMapsGiveThePixelsBack)
{
    auto generator = seeded(5);
    const torch::Tensor rgb = torch::rand({2, 3, 16, 16}, generator).clamp_min(1.0 / 255.0);
    torch::Tensor identity = torch::zeros({3, 4}, torch::kDouble);
    identity.narrow(1, 0, 3).copy_(torch::eye(3, torch::kDouble));
    CHECK((mapColours(rgb, ColourSpace::OpticalDensity, identity) - rgb).abs().max().item<double>() < 1e-5);
    CHECK((mapColours(rgb, ColourSpace::LabReinhard, identity) - rgb).abs().max().item<double>() < 1e-4);
    StainNormaliser none({});
    CHECK(torch::equal(none.apply(rgb, none.slideTransform(StainProfile{})), rgb));
}

ENGINE_TEST(hedJitterScalesAndShiftsEachStainWithinItsStrength)
{
    // Patches of Ruifrok's haematoxylin and eosin: after the jitter, colour deconvolution finds
    // amounts a c + b with a in [1 - s, 1 + s] and b in [-s, s], per patch and stain.
    const torch::Tensor stains = torch::tensor({0.65, 0.70, 0.29, 0.07, 0.99, 0.11, 0.27, 0.57, 0.78}, torch::kDouble).view({3, 3});
    const torch::Tensor s = stains / stains.norm(2, 1, true);
    const torch::Tensor c = concentrations(4, 24, 6).clamp_min(0.3); // no clamped glass
    const torch::Tensor od = c.select(1, 0).unsqueeze(1) * s[0].view({1, 3, 1, 1}) + c.select(1, 1).unsqueeze(1) * s[1].view({1, 3, 1, 1});
    const torch::Tensor rgb = od.neg().exp().to(torch::kFloat);
    constexpr double kStrength = 0.1;
    auto generator = seeded(7);
    const torch::Tensor jittered = jitterStains(rgb, kStrength, generator);
    const torch::Tensor amounts
        = torch::matmul(torch::inverse(s.t()), jittered.to(torch::kDouble).clamp_min(1.0 / 255.0).log().neg().reshape({4, 3, -1}));
    for (std::int64_t n = 0; n < 4; ++n)
        for (std::int64_t k = 0; k < 2; ++k) {
            const torch::Tensor x = c[n][k].reshape({-1});
            const torch::Tensor y = amounts[n][k];
            const double slope = torch::dot(x - x.mean(), y - y.mean()).item<double>() / (x - x.mean()).pow(2).sum().item<double>();
            const double intercept = y.mean().item<double>() - slope * x.mean().item<double>();
            CHECK(slope >= 1.0 - kStrength - 1e-3 && slope <= 1.0 + kStrength + 1e-3);
            CHECK(std::abs(intercept) <= kStrength + 1e-3);
        }
    auto again = seeded(7);
    CHECK(torch::equal(jittered, jitterStains(rgb, kStrength, again)));
    auto other = seeded(8);
    CHECK(!torch::equal(jittered, jitterStains(rgb, kStrength, other)));
    CHECK(torch::equal(jitterStains(rgb, 0.0, other), rgb));
    CHECK(jittered.min().item<double>() >= 0.0 && jittered.max().item<double>() <= 1.0);
}

ENGINE_TEST(badInputGetsOneClearMessage)
{
    CHECK_THROWS_MESSAGE(estimateStainProfile(torch::ones({2, 3, 16, 16})),
                         "Too little stained tissue to estimate the stain: 0 of 512 pixels have a mean optical density above 0.15 (at "
                         "least 500 are needed)");
    CHECK_THROWS_MESSAGE(estimateStainProfile(torch::ones({2, 4, 16, 16})),
                         "Stain estimation needs floating-point patches N x 3 x H x W, got [2, 4, 16, 16]");
    StainNormalisation settings;
    settings.method = StainMethod::Macenko;
    const StainNormaliser normaliser(settings);
    CHECK_THROWS_MESSAGE(normaliser.apply(torch::ones({2, 3, 4, 4}), torch::zeros({3, 3})),
                         "Stain transforms must be 3 x 4 or 2 x 3 x 4, got [3, 3]");
    StainProfile flat = builtInStainReference();
    flat.eosin = flat.haematoxylin;
    CHECK_THROWS_MESSAGE(normaliser.slideTransform(flat),
                         "The slide's stain estimate is degenerate (haematoxylin and eosin alike, or no stain)");
    CHECK_THROWS_MESSAGE(parseStainMethod("vahadane"), "Unknown stain normalisation 'vahadane': use none, macenko or reinhard");
    CHECK_EQ(parseStainMethod("Macenko"), StainMethod::Macenko);
    auto generator = seeded(1);
    CHECK_THROWS_MESSAGE(jitterStains(torch::ones({1, 3, 4, 4}), 1.5, generator),
                         "Stain augmentation strength must be between 0 and 1, got 1.500000");
}
