// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/export/attentionregions.h"

#include "project/projecterror.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

namespace icmil::project {

namespace {

constexpr int kSubdivision = 16; // mask pixels per lattice step

// Percentile ranks by raw score, ties sharing their average rank (as attention_rank).
std::vector<double> percentileRanks(const std::vector<float> &raw)
{
    const std::size_t n = raw.size();
    std::vector<double> ranks(n, 0.5);
    if (n < 2)
        return ranks;
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return raw[a] < raw[b]; });
    for (std::size_t i = 0; i < n;) {
        std::size_t j = i;
        while (j + 1 < n && raw[order[j + 1]] == raw[order[i]])
            ++j;
        const double rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0 / static_cast<double>(n - 1);
        for (std::size_t k = i; k <= j; ++k)
            ranks[order[k]] = rank;
        i = j + 1;
    }
    return ranks;
}

// The selected patches (selected[i] for slide.coords[i]) merged where they touch into polygons.
AnnotationSet patchRegions(const SlideAttention &slide, std::int64_t patchSizeLevel0, const std::vector<bool> &selected,
                           const std::string &className, std::array<int, 3> colour)
{
    if (patchSizeLevel0 <= 0)
        throw ProjectError("The patch size must be positive to outline attention regions");
    AnnotationSet set;
    set.source = "icmil-geojson";
    if (slide.coords.empty())
        return set;
    // The lattice step: the smallest distance between patch corners along an axis (the patch size
    // when patches do not overlap).
    std::int64_t step = patchSizeLevel0;
    for (std::size_t i = 1; i < slide.coords.size(); ++i)
        for (int axis = 0; axis < 2; ++axis) {
            const std::int64_t d
                = std::abs(slide.coords[i][static_cast<std::size_t>(axis)] - slide.coords[i - 1][static_cast<std::size_t>(axis)]);
            if (d > 0)
                step = std::min(step, d);
        }
    std::int64_t minX = slide.coords[0][0], minY = slide.coords[0][1], maxX = minX, maxY = minY;
    for (const auto &c : slide.coords) {
        minX = std::min(minX, c[0]);
        minY = std::min(minY, c[1]);
        maxX = std::max(maxX, c[0]);
        maxY = std::max(maxY, c[1]);
    }
    const double pixel = static_cast<double>(step) / kSubdivision; // level-0 pixels per mask pixel
    const int width = static_cast<int>(std::ceil(static_cast<double>(maxX - minX + patchSizeLevel0) / pixel)) + 2;
    const int height = static_cast<int>(std::ceil(static_cast<double>(maxY - minY + patchSizeLevel0) / pixel)) + 2;
    if (static_cast<double>(width) * height > 4.0e8)
        throw ProjectError("Slide '" + slide.slideId + "': its patch lattice is too large to outline");
    cv::Mat mask = cv::Mat::zeros(height, width, CV_8UC1);
    const int side = static_cast<int>(std::lround(static_cast<double>(patchSizeLevel0) / pixel));
    for (std::size_t i = 0; i < slide.coords.size(); ++i) {
        if (!selected[i])
            continue;
        const int x = 1 + static_cast<int>(std::lround(static_cast<double>(slide.coords[i][0] - minX) / pixel));
        const int y = 1 + static_cast<int>(std::lround(static_cast<double>(slide.coords[i][1] - minY) / pixel));
        cv::rectangle(mask, cv::Rect(x, y, side, side), cv::Scalar(255), cv::FILLED);
    }
    std::vector<std::vector<cv::Point>> contours;
    std::vector<cv::Vec4i> hierarchy;
    cv::findContours(mask, contours, hierarchy, cv::RETR_CCOMP, cv::CHAIN_APPROX_SIMPLE);
    // Mask pixel centres -> level-0: the outline runs half a mask pixel inside the patch edges.
    auto ring = [&](const std::vector<cv::Point> &contour) {
        Ring out;
        for (const cv::Point &p : contour)
            out.push_back({static_cast<double>(minX) + (p.x - 1 + 0.5) * pixel, static_cast<double>(minY) + (p.y - 1 + 0.5) * pixel});
        return out;
    };
    int index = 0;
    for (std::size_t i = 0; i < contours.size(); ++i) {
        if (hierarchy[i][3] >= 0 || contours[i].size() < 3)
            continue; // holes go with their outer contour
        Annotation region;
        region.className = className;
        region.colour = colour;
        region.name = className + " " + std::to_string(++index);
        PolygonRings polygon{ring(contours[i])};
        for (int child = hierarchy[i][2]; child >= 0; child = hierarchy[static_cast<std::size_t>(child)][0])
            if (contours[static_cast<std::size_t>(child)].size() >= 3)
                polygon.push_back(ring(contours[static_cast<std::size_t>(child)]));
        region.polygons.push_back(std::move(polygon));
        set.annotations.push_back(std::move(region));
    }
    return set;
}

} // namespace

AnnotationSet attentionRegions(const SlideAttention &slide, std::int64_t patchSizeLevel0, double threshold, const std::string &className,
                               std::array<int, 3> colour)
{
    const std::vector<float> &raw = slide.attentionRaw.empty() ? slide.attention : slide.attentionRaw;
    if (raw.size() != slide.coords.size())
        throw ProjectError("Slide '" + slide.slideId + "' has " + std::to_string(slide.coords.size()) + " patches but "
                           + std::to_string(raw.size()) + " attention scores");
    const std::vector<double> ranks = percentileRanks(raw);
    std::vector<bool> selected(ranks.size());
    for (std::size_t i = 0; i < ranks.size(); ++i)
        selected[i] = ranks[i] >= threshold;
    return patchRegions(slide, patchSizeLevel0, selected, className, colour);
}

AnnotationSet instanceScoreRegions(const SlideAttention &slide, std::int64_t patchSizeLevel0, double threshold,
                                   const std::string &className, std::array<int, 3> colour)
{
    const std::vector<float> scores
        = slide.probabilities.empty() ? std::vector<float>() : instanceScoresOfClass(slide, slide.probabilities.size() - 1);
    if (scores.empty() && !slide.coords.empty())
        throw ProjectError("Slide '" + slide.slideId
                           + "' has no instance scores (its attention file was written before them: predict again)");
    std::vector<bool> selected(scores.size());
    for (std::size_t i = 0; i < scores.size(); ++i)
        selected[i] = static_cast<double>(scores[i]) >= threshold;
    return patchRegions(slide, patchSizeLevel0, selected, className, colour);
}

std::size_t writeAttentionRegionsGeoJson(const std::filesystem::path &path, const SlideAttention &slide, std::int64_t patchSizeLevel0,
                                         double threshold, const std::array<double, 2> &offset, RegionMap map)
{
    const AnnotationSet set = map == RegionMap::InstanceScore ? instanceScoreRegions(slide, patchSizeLevel0, threshold)
                                                              : attentionRegions(slide, patchSizeLevel0, threshold);
    writeProjectAnnotations(path, set, offset);
    return set.annotations.size();
}

} // namespace icmil::project
