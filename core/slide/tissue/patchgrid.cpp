// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/tissue/patchgrid.h"

#include "slide/io/levelselection.h"
#include "slide/slideerror.h"
#include "slide/io/slidesource.h"
#include "slide/tissue/tissuemap.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

namespace icmil::slide {

namespace {

// A level within this relative distance above the requested downsample still counts as "not
// upsampling": scanners write 4.000566 for a 4x level, and a 0.1% stretch is invisible.
constexpr double kLevelTolerance = 1e-3;

// "20", "10.5", "39.6": at most two decimals, locale-independent.
std::string magnificationText(double value)
{
    char buffer[64];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 2);
    std::string text(buffer, result.ptr);
    while (text.back() == '0')
        text.pop_back();
    if (text.back() == '.')
        text.pop_back();
    return text;
}

std::string number(double value)
{
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

void validate(const PatchGridParams &params)
{
    auto invalid = [](const std::string &what) { throw SlideError("Invalid patch grid settings: " + what); };
    if (params.patchSize < 1 || params.patchSize > 65536)
        invalid("patch size must be between 1 and 65536 pixels (got " + std::to_string(params.patchSize) + ")");
    if (params.targetMagnification && (!(*params.targetMagnification > 0.0) || !std::isfinite(*params.targetMagnification)))
        invalid("target magnification must be a positive number (got " + number(*params.targetMagnification) + ")");
    if (!(params.overlap >= 0.0 && params.overlap < 1.0))
        invalid("overlap must be at least 0 and below 1 (got " + number(params.overlap) + ")");
    if (params.step < 0)
        invalid("step must not be negative (got " + std::to_string(params.step) + ")");
    if (!(params.minTissueFraction >= 0.0 && params.minTissueFraction <= 1.0))
        invalid("minimum tissue fraction must be between 0 and 1 (got " + number(params.minTissueFraction) + ")");
}

} // namespace

std::optional<double> PatchGrid::slideMagnification(const SlideSource &slide)
{
    const SlideMetadata &metadata = slide.metadata();
    if (metadata.objectivePower && *metadata.objectivePower > 0.0 && std::isfinite(*metadata.objectivePower))
        return *metadata.objectivePower;
    if (metadata.mppX && *metadata.mppX > 0.0 && std::isfinite(*metadata.mppX))
        return 10.0 / *metadata.mppX;
    return std::nullopt;
}

PatchGrid PatchGrid::build(const SlideSource &slide, const TissueMap *tissue, const PatchGridParams &params)
{
    validate(params);
    PatchGrid grid;
    grid.patchSize = params.patchSize;
    grid.level0Magnification = slideMagnification(slide);

    double level0Extent = 0.0; // level-0 pixels one patch covers, before rounding
    if (params.targetMagnification && grid.level0Magnification) {
        const double target = *params.targetMagnification;
        const double native = *grid.level0Magnification;
        if (target > native * (1.0 + 1e-9)) {
            throw SlideError("Cannot make patches at " + magnificationText(target) + "x from '" + slide.path().string()
                             + "': the slide's highest magnification is " + magnificationText(native)
                             + "x and patches are never upsampled");
        }
        const double ratio = native / target;
        std::vector<double> downsamples;
        for (const LevelInfo &info : slide.metadata().levels)
            downsamples.push_back(info.downsample);
        grid.mode = PatchGridMode::Magnification;
        grid.targetMagnification = target;
        grid.readLevel = levelForDownsample(downsamples, ratio * (1.0 + kLevelTolerance));
        level0Extent = params.patchSize * ratio;
    } else {
        grid.mode = PatchGridMode::Level;
        grid.readLevel = params.level;
        level0Extent = params.patchSize * slide.level(params.level).downsample; // throws for a missing level
    }
    grid.patchLevel = grid.readLevel;
    const LevelInfo &readInfo = slide.level(grid.readLevel);
    grid.readSize = grid.mode == PatchGridMode::Level ? params.patchSize
                                                      : std::max(1, static_cast<int>(std::lround(level0Extent / readInfo.downsample)));
    grid.level0PatchSize = std::max<std::int64_t>(1, std::llround(level0Extent));
    const double outputStep = params.step > 0 ? params.step : params.patchSize * (1.0 - params.overlap);
    grid.level0Step = std::max<std::int64_t>(1, std::llround(outputStep * level0Extent / params.patchSize));

    const LevelInfo &base = slide.level(0);
    if (tissue && (tissue->slideWidth() != base.width || tissue->slideHeight() != base.height)) {
        throw SlideError("Cannot make patches for '" + slide.path().string() + "': the tissue map is for a "
                         + std::to_string(tissue->slideWidth()) + "x" + std::to_string(tissue->slideHeight()) + " slide, not "
                         + std::to_string(base.width) + "x" + std::to_string(base.height));
    }
    // Positions along one axis whose patch lies inside level 0 and whose read lies inside readLevel.
    auto fitting = [&](std::int64_t level0Size, std::int64_t levelSize) -> std::int64_t {
        if (level0Size < grid.level0PatchSize)
            return 0;
        std::int64_t count = (level0Size - grid.level0PatchSize) / grid.level0Step + 1;
        auto readFits = [&](std::int64_t index) {
            const double start = std::floor(static_cast<double>(index * grid.level0Step) / readInfo.downsample);
            return static_cast<std::int64_t>(start) + grid.readSize <= levelSize;
        };
        while (count > 0 && !readFits(count - 1))
            --count;
        return count;
    };
    grid.columns = fitting(base.width, readInfo.width);
    grid.rows = fitting(base.height, readInfo.height);

    const double side = static_cast<double>(grid.level0PatchSize);
    for (std::int64_t row = 0; row < grid.rows; ++row) {
        const std::int64_t y = row * grid.level0Step;
        for (std::int64_t column = 0; column < grid.columns; ++column) {
            const std::int64_t x = column * grid.level0Step;
            if (tissue
                && tissue->tissueFraction(static_cast<double>(x), static_cast<double>(y), side, side) + 1e-9 < params.minTissueFraction)
                continue;
            grid.coords.push_back({x, y});
        }
    }
    return grid;
}

} // namespace icmil::slide
