// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/slidestain.h"

#include "engine/embedders/patchinput.h"
#include "engine/engineerror.h"
#include "project/projecterror.h"
#include "slide/io/slidesource.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace icmil::project {

namespace {

constexpr std::int64_t kMaxRegionPixels = std::int64_t{1} << 22; // a reference region's read

// Premultiplied ARGB pixels (H x W x 4 uint8, bytes b, g, r, a) as 1 x 3 x H x W in [0, 1];
// pixels that are not opaque (outside a scan) count as white glass.
torch::Tensor opaqueRgb(const torch::Tensor &bgra)
{
    torch::Tensor rgb = bgra.permute({2, 0, 1}).index_select(0, torch::tensor({2, 1, 0}, torch::kLong)).to(torch::kFloat).div_(255.0);
    const torch::Tensor transparent = bgra.select(2, 3).lt(255).unsqueeze(0).expand_as(rgb);
    return rgb.masked_fill_(transparent, 1.0).unsqueeze(0);
}

} // namespace

torch::Tensor stainSamplePatches(const slide::SlideSource &source, int readLevel, int readSize,
                                 const std::vector<slide::PatchCoord> &coords, int inputSize)
{
    const auto count = static_cast<std::int64_t>(coords.size());
    const std::int64_t samples = std::min<std::int64_t>(count, kStainSamplePatches);
    torch::Tensor pixels = torch::empty({1, readSize, readSize, 4}, torch::kUInt8);
    std::vector<torch::Tensor> patches;
    for (std::int64_t i = 0; i < samples; ++i) {
        const slide::PatchCoord &c = coords[static_cast<std::size_t>(i * count / samples)];
        source.readRegionArgb(readLevel, c.x, c.y, readSize, readSize, reinterpret_cast<std::uint32_t *>(pixels.data_ptr<std::uint8_t>()));
        patches.push_back(engine::patchesToModelInput(pixels, inputSize, torch::kCPU));
    }
    return patches.empty() ? torch::empty({0, 3, inputSize, inputSize}) : torch::cat(patches);
}

engine::StainProfile estimateSlideStain(const slide::SlideSource &source, int readLevel, int readSize,
                                        const std::vector<slide::PatchCoord> &coords, int inputSize)
{
    if (coords.empty())
        throw ProjectError("Cannot estimate the stain of '" + source.path().filename().string() + "': it has no tissue patches");
    const torch::Tensor patches = stainSamplePatches(source, readLevel, readSize, coords, inputSize);
    try {
        return engine::estimateStainProfileOfPatches(patches);
    } catch (const std::exception &e) {
        throw ProjectError("Cannot estimate the stain of '" + source.path().filename().string() + "': " + e.what());
    }
}

engine::StainProfile estimateRegionStain(const StainRegion &region)
{
    const std::unique_ptr<slide::SlideSource> source = slide::SlideSource::open(region.slide);
    int level = source->levelCount() - 1;
    for (int l = 0; l < source->levelCount(); ++l) {
        const double downsample = source->level(l).downsample;
        if (static_cast<double>(region.width) * static_cast<double>(region.height) / (downsample * downsample)
            <= static_cast<double>(kMaxRegionPixels)) {
            level = l;
            break;
        }
    }
    const double downsample = source->level(level).downsample;
    const int width = std::max(1, static_cast<int>(std::lround(static_cast<double>(region.width) / downsample)));
    const int height = std::max(1, static_cast<int>(std::lround(static_cast<double>(region.height) / downsample)));
    torch::Tensor pixels = torch::empty({height, width, 4}, torch::kUInt8);
    source->readRegionArgb(level, region.x, region.y, width, height, reinterpret_cast<std::uint32_t *>(pixels.data_ptr<std::uint8_t>()));
    try {
        return engine::estimateStainProfile(opaqueRgb(pixels));
    } catch (const std::exception &e) {
        throw ProjectError("Cannot take the stain reference from " + stainRegionText(region) + ": " + e.what());
    }
}

engine::StainNormalisation resolveStainNormalisation(engine::StainMethod method, const std::string &reference)
{
    engine::StainNormalisation settings;
    settings.method = method;
    if (reference.empty() || reference == "built-in" || method == engine::StainMethod::None)
        return settings;
    const StainRegion region = parseStainRegion(reference);
    settings.reference = estimateRegionStain(region);
    settings.referenceSource = stainRegionText(region);
    return settings;
}

PoolStainMaps::PoolStainMaps(const engine::StainNormalisation &settings, const TissuePatchPool &pool, int inputSize,
                             const std::function<bool(std::size_t)> &keepGoing)
    : m_normaliser(settings)
{
    if (!m_normaliser.active())
        return;
    // Each slide's samples, in grid order (the pool lists them slide by slide).
    std::vector<std::vector<slide::PatchCoord>> coords(pool.slides.size());
    for (const PatchSample &sample : pool.samples)
        coords.at(static_cast<std::size_t>(sample.slide)).push_back(sample.coord);
    m_transforms = torch::zeros({static_cast<std::int64_t>(pool.slides.size()), 3, 4}, torch::kDouble);
    for (std::size_t i = 0; i < pool.slides.size(); ++i) {
        if (keepGoing && !keepGoing(i))
            return;
        if (coords[i].empty())
            continue;
        const SampledSlide &slide = pool.slides[i];
        std::string failure; // too little stain (ProjectError), or a degenerate estimate (EngineError)
        try {
            m_transforms[static_cast<std::int64_t>(i)].copy_(
                m_normaliser.slideTransform(estimateSlideStain(*slide.source, slide.readLevel, slide.readSize, coords[i], inputSize)));
            continue;
        } catch (const ProjectError &e) {
            failure = e.what();
        } catch (const engine::EngineError &e) {
            failure = e.what();
        }
        m_failures.emplace_back(static_cast<int>(i), failure);
    }
}

torch::Tensor PoolStainMaps::apply(const PatchSampleReader::Batch &batch, torch::Device device) const
{
    const torch::Tensor patches = batch.patches.to(device);
    if (!active() || patches.size(0) == 0) // a data-parallel rank's empty share of a batch
        return patches;
    return m_normaliser.apply(patches, m_transforms.index_select(0, batch.slides));
}

} // namespace icmil::project
