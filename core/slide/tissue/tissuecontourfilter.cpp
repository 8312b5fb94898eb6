// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/tissue/tissuecontourfilter.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <opencv2/imgproc.hpp>

namespace icmil::slide {

namespace {

struct KeptRegion {
    int outer = 0;
    std::vector<int> holes;
    double outerArea = 0.0;
};

TissueRing toLevelZero(const std::vector<cv::Point> &contour, double downsampleX, double downsampleY)
{
    TissueRing ring;
    ring.reserve(contour.size());
    for (const cv::Point &point : contour)
        ring.emplace_back((point.x + 0.5) * downsampleX, (point.y + 0.5) * downsampleY);
    return ring;
}

} // namespace

TissueContourFilter::Result TissueContourFilter::apply(const std::vector<std::uint8_t> &binary, int width, int height, double downsampleX,
                                                       double downsampleY, const Limits &limits)
{
    // findContours copies its input; the const_cast only lets cv::Mat wrap the caller's bytes.
    const cv::Mat image(height, width, CV_8UC1, const_cast<std::uint8_t *>(binary.data()));
    std::vector<std::vector<cv::Point>> contours;
    std::vector<cv::Vec4i> hierarchy; // next, previous, first child, parent
    // SIMPLE instead of CLAM's NONE: it drops only collinear boundary points, so areas and the
    // drawn mask are identical and the polygons are several times smaller.
    cv::findContours(image, contours, hierarchy, cv::RETR_CCOMP, cv::CHAIN_APPROX_SIMPLE);

    std::vector<double> areas(contours.size());
    std::vector<std::vector<int>> children(contours.size());
    for (std::size_t i = 0; i < contours.size(); ++i) {
        areas[i] = cv::contourArea(contours[i]);
        if (hierarchy[i][3] >= 0)
            children[static_cast<std::size_t>(hierarchy[i][3])].push_back(static_cast<int>(i));
    }

    const double pixelArea = downsampleX * downsampleY; // level-0 pixels per mask pixel
    const double minArea = limits.minTissueArea / pixelArea;
    const double minHoleArea = limits.minHoleArea / pixelArea;
    auto areaOf = [&areas](int index) { return areas[static_cast<std::size_t>(index)]; };

    std::vector<KeptRegion> kept;
    for (std::size_t i = 0; i < contours.size(); ++i) {
        if (hierarchy[i][3] >= 0)
            continue; // a hole; handled with its outer contour
        std::vector<int> holes = children[i];
        const double holeSum = std::accumulate(holes.begin(), holes.end(), 0.0, [&](double sum, int hole) { return sum + areaOf(hole); });
        const double area = areas[i] - holeSum; // CLAM subtracts every hole, kept or not
        if (area == 0.0 || !(area > minArea))
            continue;
        std::stable_sort(holes.begin(), holes.end(), [&](int a, int b) { return areaOf(a) > areaOf(b); });
        if (holes.size() > static_cast<std::size_t>(limits.maxHoles))
            holes.resize(static_cast<std::size_t>(limits.maxHoles));
        std::erase_if(holes, [&](int hole) { return !(areaOf(hole) > minHoleArea); });
        kept.push_back({static_cast<int>(i), std::move(holes), areas[i]});
    }
    // Largest first; an island inside a kept hole is smaller than the region around it, so
    // drawing in this order never erases it.
    std::stable_sort(kept.begin(), kept.end(), [](const KeptRegion &a, const KeptRegion &b) { return a.outerArea > b.outerArea; });

    Result result;
    result.mask.assign(binary.size(), 0);
    cv::Mat mask(height, width, CV_8UC1, result.mask.data());
    for (const KeptRegion &region : kept) {
        cv::drawContours(mask, contours, region.outer, cv::Scalar(255), cv::FILLED, cv::LINE_8);
        for (int hole : region.holes)
            cv::drawContours(mask, contours, hole, cv::Scalar(0), cv::FILLED, cv::LINE_8);
        // A hole's contour runs through the tissue pixels around it: put them back.
        for (int hole : region.holes)
            cv::drawContours(mask, contours, hole, cv::Scalar(255), 1, cv::LINE_8);

        TissueRegion out;
        out.outer = toLevelZero(contours[static_cast<std::size_t>(region.outer)], downsampleX, downsampleY);
        double area = region.outerArea;
        for (int hole : region.holes) {
            out.holes.push_back(toLevelZero(contours[static_cast<std::size_t>(hole)], downsampleX, downsampleY));
            area -= areaOf(hole);
        }
        out.areaPixels = area * downsampleX * downsampleY;
        result.regions.push_back(std::move(out));
    }
    return result;
}

} // namespace icmil::slide
