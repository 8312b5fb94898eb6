// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/tissue/tissuedetectionparams.h"

#include "slide/slideerror.h"

#include <charconv>
#include <cmath>

namespace icmil::slide {

namespace {

std::string number(double value)
{
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

// One row of CLAM's presets/*.csv: sthresh, mthresh, close, use_otsu, a_t, a_h, max_n_holes.
TissueDetectionParams clamRow(int sthresh, int mthresh, int close, double aT, double aH, int maxHoles)
{
    TissueDetectionParams params;
    params.saturationThreshold = sthresh;
    params.medianKernel = mthresh;
    params.closeKernel = close;
    params.useOtsu = false;
    params.minTissueAreaMm2 = aT * TissueDetectionParams::kClamReferencePatchMm2;
    params.minHoleAreaMm2 = aH * TissueDetectionParams::kClamReferencePatchMm2;
    params.maxHoles = maxHoles;
    return params;
}

} // namespace

TissueDetectionParams TissueDetectionParams::preset(std::string_view name)
{
    auto named = [&](TissueDetectionParams params) {
        params.presetName = std::string(name);
        return params;
    };
    if (name == "default")
        return named(clamRow(8, 7, 4, 100.0, 16.0, 8));
    if (name == "tcga")
        return named(clamRow(8, 7, 4, 16.0, 4.0, 8));
    if (name == "bwh_biopsy")
        return named(clamRow(15, 11, 2, 1.0, 1.0, 2));
    if (name == "bwh_resection")
        return named(clamRow(15, 11, 4, 100.0, 16.0, 8));
    std::string known;
    for (const std::string &preset : presetNames())
        known += (known.empty() ? "" : ", ") + preset;
    throw SlideError("Unknown tissue detection preset '" + std::string(name) + "' (known presets: " + known + ")");
}

std::vector<std::string> TissueDetectionParams::presetNames()
{
    return {"default", "tcga", "bwh_biopsy", "bwh_resection"};
}

void TissueDetectionParams::validate() const
{
    auto invalid = [](const std::string &what) { throw SlideError("Invalid tissue detection settings: " + what); };
    if (segLevel < -1)
        invalid("segmentation level must be -1 (automatic) or a level index (got " + std::to_string(segLevel) + ")");
    if (!(targetDownsample >= 1.0) || !std::isfinite(targetDownsample))
        invalid("target downsample must be at least 1 (got " + number(targetDownsample) + ")");
    if (maxMaskPixels < 4096 || maxMaskPixels > (std::int64_t{1} << 28))
        invalid("maximum mask size must be between 4096 and 268435456 pixels (got " + std::to_string(maxMaskPixels) + ")");
    if (threads < 0)
        invalid("thread count must not be negative (got " + std::to_string(threads) + ")");
    if (saturationThreshold < 0 || saturationThreshold > 254)
        invalid("saturation threshold must be between 0 and 254 (got " + std::to_string(saturationThreshold) + ")");
    if (medianKernel < 1 || medianKernel % 2 == 0 || medianKernel > 255)
        invalid("median kernel must be an odd number between 1 and 255 (got " + std::to_string(medianKernel) + ")");
    if (closeKernel < 0 || closeKernel > 255)
        invalid("closing kernel must be between 0 and 255 (got " + std::to_string(closeKernel) + ")");
    if (!(minTissueAreaMm2 >= 0.0) || !std::isfinite(minTissueAreaMm2))
        invalid("minimum tissue area must not be negative (got " + number(minTissueAreaMm2) + " mm2)");
    if (!(minHoleAreaMm2 >= 0.0) || !std::isfinite(minHoleAreaMm2))
        invalid("minimum hole area must not be negative (got " + number(minHoleAreaMm2) + " mm2)");
    if (maxHoles < 0)
        invalid("maximum hole count must not be negative (got " + std::to_string(maxHoles) + ")");
    if (!(maxAreaFraction > 0.0 && maxAreaFraction <= 1.0))
        invalid("the largest area threshold as a fraction of the slide must be in (0, 1] (got " + number(maxAreaFraction) + ")");
    if (!(assumedMpp > 0.0) || !std::isfinite(assumedMpp))
        invalid("the assumed microns per pixel must be positive (got " + number(assumedMpp) + ")");
}

} // namespace icmil::slide
