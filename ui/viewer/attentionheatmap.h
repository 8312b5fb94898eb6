// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/colormap.h"

#include <QImage>
#include <QPointF>
#include <QRectF>
#include <QString>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace icmil::ui {

enum class HeatmapNormalisation {
    MinMax,         // (raw - min) / (max - min)
    PercentileRank, // rank / (n - 1) over the raw scores, ties share their average rank (CLAM)
    Probability,    // the raw scores as they are, clamped to [0, 1] (the instance view's probabilities)
};

struct HeatmapSettings {
    HeatmapNormalisation normalisation = HeatmapNormalisation::PercentileRank;
    std::optional<double> threshold; // in [0, 1]: cells whose normalised score is below are not drawn
    Colormap colormap;               // viridis
};

QString normalisationName(HeatmapNormalisation normalisation); // "min-max", "percentile rank", "probability"

// A slide's attention as a picture, computed once: the patches' scores normalised and coloured
// into a QImage with ONE pixel per patch cell (the cell grid starts at the smallest coordinate
// and steps by the patch size), transparent where there is no patch or the score is under the
// threshold. Immutable: other settings make another heatmap (withSettings), which shares the
// patch data. Built from plain data, so the viewer needs nothing from the project layer.
// `scoreName` says what the scores are ("Attention", "Instance score (tumor)"): the legend's and
// the readout's name for them.
class AttentionHeatmap {
public:
    using Coord = std::array<std::int64_t, 2>; // level-0 top-left corner

    struct Hit {
        std::size_t index = 0; // the patch, in the order given
        double score = 0.0;    // normalised, 0..1
        float raw = 0.0f;
        QRectF rect;       // the patch in level-0 pixels
        bool shown = true; // false: under the threshold, so not drawn
    };

    // Throws std::invalid_argument: sizes that disagree, no patches, a patch size < 1, a raw
    // score that is not finite, a coordinate off the grid of the first one, two patches in one cell.
    AttentionHeatmap(std::vector<Coord> coords, std::int64_t patchSizeLevel0, std::vector<float> rawScores, HeatmapSettings settings = {},
                     QString scoreName = QStringLiteral("Attention"));

    std::shared_ptr<const AttentionHeatmap> withSettings(const HeatmapSettings &settings) const;

    const HeatmapSettings &settings() const { return m_settings; }
    const QString &scoreName() const { return m_data->scoreName; }
    std::size_t patchCount() const { return m_data->coords.size(); }
    std::int64_t patchSize() const { return m_data->patchSize; }
    const std::vector<Coord> &coords() const { return m_data->coords; }
    const std::vector<float> &rawScores() const { return m_data->raw; }
    float rawMin() const { return m_data->rawMin; }
    float rawMax() const { return m_data->rawMax; }
    const std::vector<double> &scores() const { return m_scores; } // normalised, per patch

    const QImage &cellImage() const { return m_image; } // one pixel per cell, ARGB32_Premultiplied
    QRectF cellRect() const;                            // the level-0 area the image covers
    QRectF patchRect(std::size_t index) const;

    // The patch whose square contains the level-0 point (left/top edges inside, right/bottom outside).
    std::optional<Hit> hitAt(QPointF level0) const;
    // The k highest-scoring patches, highest first (ties: the lower index first).
    std::vector<std::size_t> topK(std::size_t k) const;

private:
    struct Data {
        std::vector<Coord> coords;
        std::vector<float> raw;
        std::int64_t patchSize = 0;
        std::int64_t originX = 0;
        std::int64_t originY = 0;
        int columns = 0;
        int rows = 0;
        std::vector<std::int32_t> cellPatch; // row-major, -1 where no patch
        float rawMin = 0.0f;
        float rawMax = 0.0f;
        std::vector<double> percentileRanks;
        QString scoreName;
    };

    AttentionHeatmap(std::shared_ptr<const Data> data, HeatmapSettings settings);
    static std::shared_ptr<const Data> makeData(std::vector<Coord> coords, std::int64_t patchSize, std::vector<float> raw,
                                                QString scoreName);
    void paintCells();

    std::shared_ptr<const Data> m_data;
    HeatmapSettings m_settings;
    std::vector<double> m_scores;
    QImage m_image;
};

} // namespace icmil::ui
