// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/export/attentiongeojson.h"

#include "common/percentileranks.h"

#include "project/atomicfile.h"
#include "project/projecterror.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace icmil::project {

namespace {

// The float's shortest decimal form as a double: 0.1f is written 0.1, not 0.10000000149011612.
double decimal(float value)
{
    char text[32];
    const auto written = std::to_chars(text, text + sizeof text, value);
    double result = static_cast<double>(value);
    std::from_chars(text, written.ptr, result);
    return result;
}

// The first problem that keeps the attention from being written, or "".
std::string problemWith(const SlideAttention &slide, std::int64_t patchSize)
{
    const std::size_t n = slide.coords.size();
    if (slide.attention.size() != n)
        return "there are " + std::to_string(slide.attention.size()) + " attention values for " + std::to_string(n) + " patches";
    if (slide.attentionRaw.size() != n)
        return "there are " + std::to_string(slide.attentionRaw.size()) + " raw attention scores for " + std::to_string(n) + " patches";
    if (patchSize < 1)
        return "the patch size must be at least 1 level-0 pixel (got " + std::to_string(patchSize) + ")";
    if (slide.patchSizeLevel0 && *slide.patchSizeLevel0 != patchSize)
        return "the patch size " + std::to_string(patchSize) + " disagrees with the " + std::to_string(*slide.patchSizeLevel0)
            + " recorded with the attention";
    for (std::size_t i = 0; i < n; ++i) {
        if (!std::isfinite(slide.attention[i]) || !std::isfinite(slide.attentionRaw[i]))
            return "the attention of patch " + std::to_string(i) + " is not a number";
    }
    return {};
}

// A level-0 coordinate moved by the offset: an integer while the offset is whole (as OpenSlide's
// bounds are).
nlohmann::json shifted(std::int64_t value, double offset)
{
    if (offset == std::floor(offset) && std::abs(offset) < 9.0e15)
        return value - static_cast<std::int64_t>(offset);
    return static_cast<double>(value) - offset;
}

} // namespace

std::string formatAttentionGeoJson(const SlideAttention &slide, std::int64_t patchSizeLevel0, const std::array<double, 2> &offset)
{
    if (const std::string problem = problemWith(slide, patchSizeLevel0); !problem.empty())
        throw std::invalid_argument(problem);
    if (!std::isfinite(offset[0]) || !std::isfinite(offset[1]))
        throw std::invalid_argument("the slide's bounds offset is not a number");
    const std::vector<double> ranks = percentileRanks(slide.attentionRaw);
    const std::vector<float> instance
        = slide.probabilities.empty() ? std::vector<float>() : instanceScoresOfClass(slide, slide.probabilities.size() - 1);
    nlohmann::json features = nlohmann::json::array();
    for (std::size_t i = 0; i < slide.coords.size(); ++i) {
        const std::int64_t x = slide.coords[i][0];
        const std::int64_t y = slide.coords[i][1];
        const std::int64_t s = patchSizeLevel0;
        const nlohmann::json left = shifted(x, offset[0]), right = shifted(x + s, offset[0]);
        const nlohmann::json top = shifted(y, offset[1]), bottom = shifted(y + s, offset[1]);
        nlohmann::json ring = nlohmann::json::array({{left, top}, {right, top}, {right, bottom}, {left, bottom}, {left, top}});
        nlohmann::json measurements
            = {{"attention", decimal(slide.attention[i])}, {"attention_raw", decimal(slide.attentionRaw[i])}, {"attention_rank", ranks[i]}};
        if (!instance.empty())
            measurements["instance_score"] = decimal(instance[i]);
        features.push_back({
            {"type", "Feature"},
            {"geometry", {{"type", "Polygon"}, {"coordinates", nlohmann::json::array({std::move(ring)})}}},
            {"properties",
             {{"objectType", "detection"}, {"name", "Patch " + std::to_string(i)}, {"measurements", std::move(measurements)}}},
        });
    }
    const nlohmann::json collection = {{"type", "FeatureCollection"}, {"features", std::move(features)}};
    return collection.dump() + "\n";
}

void writeAttentionGeoJson(const std::filesystem::path &path, const SlideAttention &slide, std::int64_t patchSizeLevel0,
                           const std::array<double, 2> &offset)
{
    std::string text;
    try {
        text = formatAttentionGeoJson(slide, patchSizeLevel0, offset);
    } catch (const std::invalid_argument &e) {
        throw ProjectError("Cannot write '" + path.string() + "': " + e.what());
    }
    writeFileAtomically(path, text); // ProjectError "Cannot write '<path>': <cause>"
}

} // namespace icmil::project
