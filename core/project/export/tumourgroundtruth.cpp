// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/export/tumourgroundtruth.h"
#include "project/jsonvalue.h"

#include "engine/mil/milmetrics.h"
#include "project/training/attentionstore.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace icmil::project {

namespace fs = std::filesystem;

bool LocalisationAccumulator::add(const std::vector<int> &tumour, const std::vector<double> &scores)
{
    if (tumour.size() != scores.size())
        throw ProjectError("Cannot score localisation: " + std::to_string(tumour.size()) + " labels for " + std::to_string(scores.size())
                           + " scores");
    const auto positives = std::count(tumour.begin(), tumour.end(), 1);
    if (positives == 0 || positives == static_cast<long>(tumour.size()))
        return false;
    std::vector<std::size_t> order(scores.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    const std::size_t top = std::max<std::size_t>(1, static_cast<std::size_t>(std::ceil(0.1 * static_cast<double>(order.size()))));
    int inside = 0;
    for (std::size_t i = 0; i < top; ++i)
        inside += tumour[order[i]];
    m_sum.topFraction += static_cast<double>(inside) / static_cast<double>(top);
    m_sum.ceiling += std::min(1.0, static_cast<double>(positives) / static_cast<double>(top));
    m_sum.patchAuc += engine::rocAuc(tumour, scores);
    ++m_sum.slides;
    return true;
}

LocalisationScore LocalisationAccumulator::score() const
{
    LocalisationScore mean = m_sum;
    if (mean.slides > 0) {
        const auto n = static_cast<double>(mean.slides);
        mean.patchAuc /= n;
        mean.topFraction /= n;
        mean.ceiling /= n;
    }
    return mean;
}

std::optional<TumourGroundTruth> TumourGroundTruth::load(const fs::path &datasetDir)
{
    const fs::path manifestPath = datasetDir / "dataset.json";
    std::ifstream in(manifestPath);
    if (!in)
        return std::nullopt;
    TumourGroundTruth truth;
    truth.m_dir = datasetDir;
    try {
        const nlohmann::json manifest = nlohmann::json::parse(in);
        truth.m_maskDownsample = (manifest.contains("mask_downsample") ? jsonGet<int>(manifest.at("mask_downsample")) : 32);
        if (truth.m_maskDownsample < 1)
            throw ProjectError("mask_downsample must be at least 1");
        for (const nlohmann::json &slide : manifest.at("slides")) {
            if (slide.at("label").get<std::string>() == "tumor")
                truth.m_tumourMasks[slide.at("slide_id").get<std::string>()] = datasetDir / slide.at("mask").get<std::string>();
        }
    } catch (const nlohmann::json::exception &error) {
        throw ProjectError("Cannot read the ground truth in '" + manifestPath.string() + "': " + error.what());
    }
    return truth;
}

bool TumourGroundTruth::hasTumour(const std::string &slideId) const
{
    return m_tumourMasks.contains(slideId);
}

std::vector<std::string> TumourGroundTruth::tumourSlides() const
{
    std::vector<std::string> ids;
    for (const auto &[id, path] : m_tumourMasks)
        ids.push_back(id);
    return ids;
}

std::vector<int> TumourGroundTruth::patchLabels(const std::string &slideId, const std::vector<std::array<std::int64_t, 2>> &coords,
                                                std::int64_t patchSizeLevel0) const
{
    const auto found = m_tumourMasks.find(slideId);
    if (found == m_tumourMasks.end())
        return std::vector<int>(coords.size(), 0);
    const cv::Mat mask = cv::imread(found->second.string(), cv::IMREAD_GRAYSCALE);
    if (mask.empty())
        throw ProjectError("Cannot read the tumour mask '" + found->second.string() + "'");
    const std::int64_t half = patchSizeLevel0 / 2;
    std::vector<int> labels;
    labels.reserve(coords.size());
    for (const auto &corner : coords) {
        const auto x = std::clamp<std::int64_t>((corner[0] + half) / m_maskDownsample, 0, mask.cols - 1);
        const auto y = std::clamp<std::int64_t>((corner[1] + half) / m_maskDownsample, 0, mask.rows - 1);
        labels.push_back(mask.at<std::uint8_t>(static_cast<int>(y), static_cast<int>(x)) > 127 ? 1 : 0);
    }
    return labels;
}

LocalisationScore localiseAttention(const TumourGroundTruth &truth, const fs::path &attentionDir, const std::vector<std::string> &slideIds)
{
    LocalisationAccumulator accumulator;
    for (const std::string &slideId : slideIds.empty() ? truth.tumourSlides() : slideIds) {
        if (!truth.hasTumour(slideId))
            continue;
        const fs::path file = attentionDir / (slideId + ".h5");
        if (!fs::exists(file))
            continue;
        const SlideAttention attention = readAttentionFile(file);
        const std::vector<int> labels = truth.patchLabels(slideId, attention.coords, attention.patchSizeLevel0.value_or(256));
        accumulator.add(labels, std::vector<double>(attention.attention.begin(), attention.attention.end()));
    }
    return accumulator.score();
}

std::optional<LocalisationScore> localiseRunAttention(const fs::path &slidesDir, const fs::path &projectRoot, const std::string &encoder,
                                                      const std::string &run)
{
    const std::optional<TumourGroundTruth> truth = TumourGroundTruth::load(slidesDir.empty() ? projectRoot : slidesDir);
    if (!truth)
        return std::nullopt;
    const LocalisationScore score = localiseAttention(*truth, ProjectLayout(projectRoot).attentionDir(encoder, run));
    if (score.slides == 0)
        return std::nullopt;
    return score;
}

} // namespace icmil::project
