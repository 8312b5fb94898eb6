// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/stain/stainnormaliser.h"

#include "engine/engineerror.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <vector>

namespace icmil::engine {

namespace {

constexpr double kDarkest = 1.0 / 255.0; // intensities are clamped here before a logarithm
constexpr double kLowPercentile = 1.0;   // Macenko's alpha: the extreme stain angles, robustly
constexpr double kHighPercentile = 99.0;
constexpr std::int64_t kMaxEstimatePixels = std::int64_t{1} << 22; // a deterministic stride above this

torch::Tensor matrix3(const double (&m)[3][3])
{
    return torch::tensor({m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2], m[2][0], m[2][1], m[2][2]}, torch::kDouble).view({3, 3});
}

// Reinhard's RGB -> LMS and log10(LMS) -> l-alpha-beta.
torch::Tensor rgbToLms()
{
    static const double m[3][3] = {{0.3811, 0.5783, 0.0402}, {0.1967, 0.7244, 0.0782}, {0.0241, 0.1288, 0.8444}};
    return matrix3(m);
}

torch::Tensor logLmsToLab()
{
    const double a = 1.0 / std::sqrt(3.0), b = 1.0 / std::sqrt(6.0), c = 1.0 / std::sqrt(2.0);
    const double m[3][3] = {{a, a, a}, {b, b, -2.0 * b}, {c, -c, 0.0}};
    return matrix3(m);
}

// Ruifrok and Johnston's stain vectors (rows: haematoxylin, eosin, DAB), each of unit length.
torch::Tensor ruifrokStains()
{
    static const double m[3][3] = {{0.65, 0.70, 0.29}, {0.07, 0.99, 0.11}, {0.27, 0.57, 0.78}};
    const torch::Tensor stains = matrix3(m);
    return stains / stains.norm(2, 1, true);
}

std::string shapeText(const torch::Tensor &tensor)
{
    std::ostringstream text;
    text << tensor.sizes();
    return text.str();
}

void checkBatch(const torch::Tensor &rgb, const char *what)
{
    if (!rgb.defined() || rgb.dim() != 4 || rgb.size(1) != 3 || !rgb.is_floating_point())
        throw EngineError(std::string(what) + " needs floating-point patches N x 3 x H x W, got "
                          + (rgb.defined() ? shapeText(rgb) : std::string("nothing")));
}

// The nearest-rank percentile of a 1-D tensor.
double percentile(const torch::Tensor &values, double p)
{
    const std::int64_t n = values.numel();
    const std::int64_t k = std::clamp<std::int64_t>(std::llround(p / 100.0 * static_cast<double>(n - 1)) + 1, 1, n);
    return std::get<0>(torch::kthvalue(values, k)).item<double>();
}

std::array<double, 3> column(const torch::Tensor &vector)
{
    const torch::Tensor v = vector.to(torch::kCPU, torch::kDouble).contiguous();
    return {v[0].item<double>(), v[1].item<double>(), v[2].item<double>()};
}

torch::Tensor fromArray(const std::array<double, 3> &v)
{
    return torch::tensor({v[0], v[1], v[2]}, torch::kDouble);
}

} // namespace

torch::Tensor mapColours(const torch::Tensor &rgb, ColourSpace space, const torch::Tensor &transforms)
{
    checkBatch(rgb, "Stain normalisation");
    const std::int64_t n = rgb.size(0);
    const bool shared = transforms.dim() == 2 && transforms.size(0) == 3 && transforms.size(1) == 4;
    const bool each = transforms.dim() == 3 && transforms.size(0) == n && transforms.size(1) == 3 && transforms.size(2) == 4;
    if (!shared && !each)
        throw EngineError("Stain transforms must be 3 x 4 or " + std::to_string(n) + " x 3 x 4, got " + shapeText(transforms));
    torch::NoGradGuard noGrad;
    // 1 x 3 x 4 (shared, broadcast over the patches) or N x 3 x 4.
    const torch::Tensor maps = (shared ? transforms.unsqueeze(0) : transforms).to(torch::kDouble).cpu();
    torch::Tensor a = maps.narrow(-1, 0, 3);
    torch::Tensor b = maps.narrow(-1, 3, 1);
    // Both spaces are a natural logarithm away from linear light, so the map is carried out as
    // u = ln(C x), u' = A u + b, x' = C^-1 exp(u'), with C the identity (OD) or RGB -> LMS:
    //   OD = -u, so OD' = A OD + b becomes u' = A u - b;
    //   l-alpha-beta is P log10(LMS) = P u / ln 10, so its map becomes P^-1 A P and ln(10) P^-1 b.
    const bool lab = space == ColourSpace::LabReinhard;
    if (lab) {
        const torch::Tensor p = logLmsToLab();
        const torch::Tensor pInverse = torch::inverse(p);
        a = torch::matmul(torch::matmul(pInverse, a), p);
        b = torch::matmul(pInverse, b) * std::log(10.0);
    } else {
        b = -b;
    }
    const auto device = rgb.device();
    auto onDevice = [&](const torch::Tensor &t) { return t.to(device, torch::kFloat); };
    // y_c = m_c0 x_0 + m_c1 x_1 + m_c2 x_2 (+ t_c) per pixel, with m and t per patch (N x 3 x 3,
    // N x 3 x 1) or shared (3 x 3, 1 x 3 x 3, 1 x 3 x 1): elementwise in a fixed order, so a
    // pixel's result never depends on the batch (a matrix product's kernel may sum differently
    // by position); on this CPU no slower than a batched 3 x 3 by 3 x HW product.
    auto perPixel = [&](const torch::Tensor &m, const torch::Tensor &in, const torch::Tensor &t) {
        const torch::Tensor mm = m.dim() == 2 ? m.unsqueeze(0) : m; // N' x 3 x 3, N' = 1 or N
        torch::Tensor out = torch::empty_like(in);
        for (std::int64_t c = 0; c < 3; ++c) {
            torch::Tensor channel = out.select(1, c);
            auto weight = [&](std::int64_t k) { return mm.select(1, c).select(1, k).unsqueeze(-1); }; // N' x 1
            torch::mul_out(channel, in.select(1, 0), weight(0));
            channel.addcmul_(in.select(1, 1), weight(1));
            channel.addcmul_(in.select(1, 2), weight(2));
            if (t.defined())
                channel.add_(t.select(1, c)); // N' x 1
        }
        return out;
    };
    const auto sizes = rgb.sizes().vec();
    torch::Tensor x = rgb.to(torch::kFloat).reshape({n, 3, -1});
    x = lab ? perPixel(onDevice(rgbToLms()), x.clamp(kDarkest, 1.0), {}).clamp_min_(1e-6) : x.clamp(kDarkest, 1.0);
    torch::Tensor mapped = perPixel(onDevice(a), x.log_(), onDevice(b)).exp_();
    if (lab)
        mapped = perPixel(onDevice(torch::inverse(rgbToLms())), mapped, {});
    return mapped.clamp_(0.0, 1.0).view(sizes);
}

StainProfile estimateStainProfile(const torch::Tensor &rgb)
{
    checkBatch(rgb, "Stain estimation");
    torch::NoGradGuard noGrad;
    torch::Tensor x = rgb.to(torch::kFloat).permute({1, 0, 2, 3}).reshape({3, -1});
    const std::int64_t all = x.size(1);
    if (all > kMaxEstimatePixels)
        x = x.slice(1, 0, all, (all + kMaxEstimatePixels - 1) / kMaxEstimatePixels);
    x = x.clamp(kDarkest, 1.0);
    const torch::Tensor od = x.log().neg_();
    const torch::Tensor stained = od.mean(0).gt(kStainedDensity);
    const std::int64_t count = stained.sum().item<std::int64_t>();
    if (count < kMinStainedPixels) {
        std::ostringstream message;
        message << "Too little stained tissue to estimate the stain: " << count << " of " << x.size(1)
                << " pixels have a mean optical density above " << kStainedDensity << " (at least " << kMinStainedPixels << " are needed)";
        throw EngineError(message.str());
    }
    const torch::Tensor tissue = od.index({torch::indexing::Slice(), stained}); // 3 x T
    StainProfile profile;
    profile.pixels = count;

    // Macenko: the plane of the two largest principal directions of the tissue's OD; the stains
    // are the directions at the 1st and 99th percentile of the pixels' angle in that plane.
    const torch::Tensor centred = tissue - tissue.mean(1, true);
    const torch::Tensor covariance = torch::matmul(centred, centred.t()).to(torch::kCPU, torch::kDouble) / static_cast<double>(count - 1);
    const auto [values, vectors] = torch::linalg_eigh(covariance);
    torch::Tensor first = vectors.select(1, 2);  // largest: along the mean OD, all positive
    torch::Tensor second = vectors.select(1, 1); // its sign only mirrors the angles
    if (first.sum().item<double>() < 0.0)
        first = -first;
    const torch::Tensor plane = torch::stack({first, second}); // 2 x 3
    const torch::Tensor projected = torch::matmul(plane.to(tissue.device(), torch::kFloat), tissue);
    const torch::Tensor angle = torch::atan2(projected[1], projected[0]);
    auto direction = [&](double phi) {
        torch::Tensor v = first * std::cos(phi) + second * std::sin(phi);
        return v / v.norm();
    };
    torch::Tensor low = direction(percentile(angle, kLowPercentile));
    torch::Tensor high = direction(percentile(angle, kHighPercentile));
    // Haematoxylin absorbs more red than eosin does.
    if (low[0].item<double>() < high[0].item<double>())
        std::swap(low, high);
    profile.haematoxylin = column(low);
    profile.eosin = column(high);
    const torch::Tensor stains = torch::stack({low, high}, 1);                                                              // 3 x 2
    const torch::Tensor concentrations = torch::matmul(torch::pinverse(stains).to(tissue.device(), torch::kFloat), tissue); // 2 x T
    profile.maxConcentration = {percentile(concentrations[0], kHighPercentile), percentile(concentrations[1], kHighPercentile)};

    // Reinhard: mean and standard deviation of the same pixels in l-alpha-beta.
    const torch::Tensor lms = torch::matmul(rgbToLms().to(x.device(), torch::kFloat), x.index({torch::indexing::Slice(), stained}));
    const torch::Tensor lab = torch::matmul(logLmsToLab().to(x.device(), torch::kFloat), lms.clamp_min(1e-6).log10());
    profile.labMean = column(lab.to(torch::kDouble).mean(1));
    profile.labStd = column(lab.to(torch::kDouble).std(1, /*unbiased=*/false));
    return profile;
}

StainProfile estimateStainProfileOfPatches(const torch::Tensor &rgb, int *leftOut)
{
    checkBatch(rgb, "Stain estimation");
    if (leftOut)
        *leftOut = 0;
    std::vector<std::int64_t> usable;
    std::vector<torch::Tensor> hVectors, eVectors;
    for (std::int64_t i = 0; i < rgb.size(0); ++i) {
        try {
            const StainProfile own = estimateStainProfile(rgb.slice(0, i, i + 1));
            usable.push_back(i);
            hVectors.push_back(fromArray(own.haematoxylin));
            eVectors.push_back(fromArray(own.eosin));
        } catch (const EngineError &) {
            // too little stain in this patch alone: it still counts in the pooled estimate
        }
    }
    if (usable.size() < 3)
        return estimateStainProfile(rgb);
    const torch::Tensor h = torch::stack(hVectors), e = torch::stack(eVectors); // P x 3
    auto median = [](const torch::Tensor &vectors) {
        const torch::Tensor m = std::get<0>(vectors.median(0));
        return m / m.norm();
    };
    const double cosine = std::cos(kOutlierDegrees * std::acos(-1.0) / 180.0);
    const torch::Tensor agree = torch::matmul(h, median(h)).ge(cosine).logical_and(torch::matmul(e, median(e)).ge(cosine));
    std::vector<std::int64_t> kept;
    for (std::size_t k = 0; k < usable.size(); ++k)
        if (agree[static_cast<std::int64_t>(k)].item<bool>())
            kept.push_back(usable[k]);
    if (kept.empty())
        return estimateStainProfile(rgb);
    if (leftOut)
        *leftOut = static_cast<int>(usable.size() - kept.size());
    return estimateStainProfile(rgb.index_select(0, torch::tensor(kept, torch::kLong).to(rgb.device())));
}

StainNormaliser::StainNormaliser(StainNormalisation settings) : m_settings(std::move(settings))
{
    if (active())
        (void)slideTransform(m_settings.reference); // a degenerate reference fails here, once
}

torch::Tensor StainNormaliser::slideTransform(const StainProfile &source) const
{
    torch::Tensor transform = torch::zeros({3, 4}, torch::kDouble);
    transform.narrow(1, 0, 3).copy_(torch::eye(3, torch::kDouble));
    const StainProfile &target = m_settings.reference;
    if (m_settings.method == StainMethod::Macenko) {
        const torch::Tensor from = torch::stack({fromArray(source.haematoxylin), fromArray(source.eosin)}, 1);
        const torch::Tensor to = torch::stack({fromArray(target.haematoxylin), fromArray(target.eosin)}, 1);
        const double gram = torch::det(torch::matmul(from.t(), from)).item<double>();
        if (!(gram > 1e-6) || !(source.maxConcentration[0] > 1e-6) || !(source.maxConcentration[1] > 1e-6))
            throw EngineError("The slide's stain estimate is degenerate (haematoxylin and eosin alike, or no stain)");
        const torch::Tensor scale = torch::diag(torch::tensor(
            {target.maxConcentration[0] / source.maxConcentration[0], target.maxConcentration[1] / source.maxConcentration[1]},
            torch::kDouble));
        transform.narrow(1, 0, 3).copy_(torch::matmul(torch::matmul(to, scale), torch::pinverse(from)));
    } else if (m_settings.method == StainMethod::Reinhard) { // a diagonal gain and an offset per channel
        for (int c = 0; c < 3; ++c) {
            const auto i = static_cast<std::size_t>(c);
            if (!(source.labStd[i] > 1e-9))
                throw EngineError("The slide's colour statistics are degenerate (no variation in a channel)");
            const double gain = target.labStd[i] / source.labStd[i];
            transform[c][c] = gain;
            transform[c][3] = target.labMean[i] - gain * source.labMean[i];
        }
    }
    return transform;
}

torch::Tensor StainNormaliser::apply(const torch::Tensor &rgb, const torch::Tensor &transforms) const
{
    if (!active())
        return rgb;
    return mapColours(rgb, m_settings.method == StainMethod::Macenko ? ColourSpace::OpticalDensity : ColourSpace::LabReinhard, transforms);
}

torch::Tensor jitterStains(const torch::Tensor &rgb, double strength, at::Generator &generator, BatchShard shard)
{
    if (strength > 1.0)
        throw EngineError("Stain augmentation strength must be between 0 and 1, got " + std::to_string(strength));
    if (!(strength > 0.0))
        return rgb;
    if (!shard.whole() && rgb.dim() == 4 && rgb.size(0) == 0) {
        torch::empty({shard.globalSize, 3}, torch::kDouble).uniform_(1.0 - strength, 1.0 + strength, generator);
        torch::empty({shard.globalSize, 3}, torch::kDouble).uniform_(-strength, strength, generator);
        return rgb;
    }
    checkBatch(rgb, "Stain augmentation");
    const std::int64_t n = rgb.size(0);
    const std::int64_t total = shard.total(n);
    if (shard.offset < 0 || shard.offset + n > total)
        throw EngineError("Stain augmentation: rows " + std::to_string(shard.offset) + " to " + std::to_string(shard.offset + n)
                          + " are not within a batch of " + std::to_string(total));
    const torch::Tensor scale
        = torch::empty({total, 3}, torch::kDouble).uniform_(1.0 - strength, 1.0 + strength, generator).narrow(0, shard.offset, n);
    const torch::Tensor shift
        = torch::empty({total, 3}, torch::kDouble).uniform_(-strength, strength, generator).narrow(0, shard.offset, n);
    // OD (column) = S^T c for stain amounts c, S the stains as rows: c' = scale c + shift gives
    // OD' = S^T diag(scale) S^-T OD + S^T shift.
    const torch::Tensor mix = ruifrokStains().t();
    const torch::Tensor unmix = torch::inverse(mix);
    torch::Tensor transforms = torch::empty({n, 3, 4}, torch::kDouble);
    transforms.narrow(2, 0, 3).copy_(torch::matmul(torch::matmul(mix, torch::diag_embed(scale)), unmix));
    transforms.narrow(2, 3, 1).copy_(torch::matmul(mix, shift.unsqueeze(-1)));
    return mapColours(rgb, ColourSpace::OpticalDensity, transforms);
}

} // namespace icmil::engine
