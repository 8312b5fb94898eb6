// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/attentionheatmap.h"

#include "common/percentileranks.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace icmil::ui {

namespace {

// A picture larger than this many cells means coordinates that do not belong together.
constexpr std::int64_t kMaxCells = std::int64_t{1} << 26;

[[noreturn]] void invalid(const std::string &what)
{
    throw std::invalid_argument("Cannot draw the attention heatmap: " + what);
}

std::string pointText(const AttentionHeatmap::Coord &c)
{
    return "(" + std::to_string(c[0]) + ", " + std::to_string(c[1]) + ")";
}

} // namespace

QString normalisationName(HeatmapNormalisation normalisation)
{
    switch (normalisation) {
    case HeatmapNormalisation::MinMax: return QStringLiteral("min-max");
    case HeatmapNormalisation::PercentileRank: return QStringLiteral("percentile rank");
    case HeatmapNormalisation::Probability: return QStringLiteral("probability");
    }
    return {};
}

AttentionHeatmap::AttentionHeatmap(std::vector<Coord> coords, std::int64_t patchSizeLevel0, std::vector<float> rawScores,
                                   HeatmapSettings settings, QString scoreName)
    : AttentionHeatmap(makeData(std::move(coords), patchSizeLevel0, std::move(rawScores), std::move(scoreName)), std::move(settings))
{ }

AttentionHeatmap::AttentionHeatmap(std::shared_ptr<const Data> data, HeatmapSettings settings)
    : m_data(std::move(data)), m_settings(std::move(settings))
{
    if (m_settings.threshold && !(*m_settings.threshold >= 0.0 && *m_settings.threshold <= 1.0))
        invalid("the threshold " + std::to_string(*m_settings.threshold) + " is not in [0, 1]");
    const Data &d = *m_data;
    if (m_settings.normalisation == HeatmapNormalisation::PercentileRank) {
        m_scores = d.percentileRanks;
    } else if (m_settings.normalisation == HeatmapNormalisation::Probability) {
        m_scores.reserve(d.raw.size());
        for (const float raw : d.raw)
            m_scores.push_back(std::clamp(static_cast<double>(raw), 0.0, 1.0));
    } else {
        const double range = static_cast<double>(d.rawMax) - static_cast<double>(d.rawMin);
        m_scores.reserve(d.raw.size());
        for (const float raw : d.raw)
            m_scores.push_back(range > 0.0 ? (static_cast<double>(raw) - d.rawMin) / range : 0.5);
    }
    paintCells();
}

std::shared_ptr<const AttentionHeatmap::Data> AttentionHeatmap::makeData(std::vector<Coord> coords, std::int64_t patchSize,
                                                                         std::vector<float> raw, QString scoreName)
{
    if (coords.size() != raw.size())
        invalid("there are " + std::to_string(raw.size()) + " scores for " + std::to_string(coords.size()) + " patches");
    if (coords.empty())
        invalid("there are no patches");
    if (patchSize < 1)
        invalid("the patch size is " + std::to_string(patchSize) + " level-0 pixels");
    if (coords.size() > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max()))
        invalid("there are too many patches");
    auto data = std::make_shared<Data>();
    data->patchSize = patchSize;
    std::int64_t maxX = coords[0][0];
    std::int64_t maxY = coords[0][1];
    data->originX = maxX;
    data->originY = maxY;
    for (std::size_t i = 0; i < coords.size(); ++i) {
        if (!std::isfinite(raw[i]))
            invalid("the score of patch " + std::to_string(i) + " is not a number");
        if ((coords[i][0] - coords[0][0]) % patchSize != 0 || (coords[i][1] - coords[0][1]) % patchSize != 0)
            invalid("patch " + std::to_string(i) + " at " + pointText(coords[i]) + " is not on the " + std::to_string(patchSize)
                    + "-pixel grid of patch 0 at " + pointText(coords[0]));
        data->originX = std::min(data->originX, coords[i][0]);
        data->originY = std::min(data->originY, coords[i][1]);
        maxX = std::max(maxX, coords[i][0]);
        maxY = std::max(maxY, coords[i][1]);
    }
    const std::int64_t columns = (maxX - data->originX) / patchSize + 1;
    const std::int64_t rows = (maxY - data->originY) / patchSize + 1;
    if (columns > kMaxCells / rows)
        invalid("the patches span " + std::to_string(columns) + " x " + std::to_string(rows) + " cells");
    data->columns = static_cast<int>(columns);
    data->rows = static_cast<int>(rows);
    data->cellPatch.assign(static_cast<std::size_t>(columns * rows), -1);
    for (std::size_t i = 0; i < coords.size(); ++i) {
        const std::int64_t cell = (coords[i][1] - data->originY) / patchSize * columns + (coords[i][0] - data->originX) / patchSize;
        std::int32_t &slot = data->cellPatch[static_cast<std::size_t>(cell)];
        if (slot >= 0)
            invalid("patches " + std::to_string(slot) + " and " + std::to_string(i) + " are both at " + pointText(coords[i]));
        slot = static_cast<std::int32_t>(i);
    }
    const auto [lowest, highest] = std::minmax_element(raw.begin(), raw.end());
    data->rawMin = *lowest;
    data->rawMax = *highest;
    data->percentileRanks = percentileRanks(raw);
    data->coords = std::move(coords);
    data->raw = std::move(raw);
    data->scoreName = std::move(scoreName);
    return data;
}

void AttentionHeatmap::paintCells()
{
    const Data &d = *m_data;
    m_image = QImage(d.columns, d.rows, QImage::Format_ARGB32_Premultiplied);
    m_image.fill(Qt::transparent);
    const double threshold = m_settings.threshold.value_or(0.0);
    for (int y = 0; y < d.rows; ++y) {
        auto *line = reinterpret_cast<QRgb *>(m_image.scanLine(y));
        for (int x = 0; x < d.columns; ++x) {
            const std::int32_t patch
                = d.cellPatch[static_cast<std::size_t>(y) * static_cast<std::size_t>(d.columns) + static_cast<std::size_t>(x)];
            if (patch < 0)
                continue;
            const double score = m_scores[static_cast<std::size_t>(patch)];
            if (score >= threshold)
                line[x] = m_settings.colormap.at(score); // opaque: premultiplied == straight
        }
    }
}

std::shared_ptr<const AttentionHeatmap> AttentionHeatmap::withSettings(const HeatmapSettings &settings) const
{
    return std::shared_ptr<const AttentionHeatmap>(new AttentionHeatmap(m_data, settings));
}

QRectF AttentionHeatmap::cellRect() const
{
    const Data &d = *m_data;
    return {static_cast<double>(d.originX), static_cast<double>(d.originY), static_cast<double>(d.columns * d.patchSize),
            static_cast<double>(d.rows * d.patchSize)};
}

QRectF AttentionHeatmap::patchRect(std::size_t index) const
{
    const Coord &c = m_data->coords.at(index);
    const auto size = static_cast<double>(m_data->patchSize);
    return {static_cast<double>(c[0]), static_cast<double>(c[1]), size, size};
}

std::optional<AttentionHeatmap::Hit> AttentionHeatmap::hitAt(QPointF level0) const
{
    const Data &d = *m_data;
    const double column = std::floor((level0.x() - static_cast<double>(d.originX)) / static_cast<double>(d.patchSize));
    const double row = std::floor((level0.y() - static_cast<double>(d.originY)) / static_cast<double>(d.patchSize));
    if (!(column >= 0.0 && column < d.columns && row >= 0.0 && row < d.rows)) // NaN fails too
        return std::nullopt;
    const std::int32_t patch
        = d.cellPatch[static_cast<std::size_t>(row) * static_cast<std::size_t>(d.columns) + static_cast<std::size_t>(column)];
    if (patch < 0)
        return std::nullopt;
    const auto index = static_cast<std::size_t>(patch);
    Hit hit;
    hit.index = index;
    hit.score = m_scores[index];
    hit.raw = d.raw[index];
    hit.rect = patchRect(index);
    hit.shown = hit.score >= m_settings.threshold.value_or(0.0);
    return hit;
}

std::vector<std::size_t> AttentionHeatmap::topK(std::size_t k) const
{
    std::vector<std::size_t> order(patchCount());
    std::iota(order.begin(), order.end(), std::size_t{0});
    k = std::min(k, order.size());
    // The raw score orders exactly as every normalisation does (each is monotone in it).
    const std::vector<float> &raw = m_data->raw;
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](std::size_t a, std::size_t b) { return raw[a] != raw[b] ? raw[a] > raw[b] : a < b; });
    order.resize(k);
    return order;
}

} // namespace icmil::ui
