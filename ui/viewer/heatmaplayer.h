// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/attentionheatmap.h"
#include "ui/viewer/viewlayer.h"

#include <QFont>
#include <QImage>
#include <QRectF>

#include <array>
#include <memory>

namespace icmil::ui {

// Draws an AttentionHeatmap over the slide: its cell image (one pixel per patch) scaled with
// nearest-neighbour sampling onto the patches' level-0 squares, so every cell edge lands on its
// patch edge at every zoom, then a legend (colour bar, ticks, normalisation, colormap) in the
// bottom-right corner, clear of the scale bar (bottom left) and the magnification (top left).
// A paint draws the visible part of the precomputed cell image (one drawImage zoomed out, a few
// when cells are large, see cellsPerDraw) plus the legend: nothing is recomputed per frame.
class HeatmapLayer : public ViewLayer {
    Q_OBJECT
public:
    explicit HeatmapLayer(QObject *parent = nullptr);

    void setHeatmap(std::shared_ptr<const AttentionHeatmap> heatmap); // nullptr: draws nothing
    const std::shared_ptr<const AttentionHeatmap> &heatmap() const { return m_heatmap; }
    void setOpacity(double opacity); // clamped to [0, 1]; the legend stays opaque
    double opacity() const { return m_opacity; }
    void setLegendVisible(bool visible);
    bool isLegendVisible() const { return m_legendVisible; }

    void paint(QPainter &painter, const ViewTransform &view, const QRectF &area) override;

    // Where the legend goes in a view of `area` (logical pixels), and its colour bar inside it
    // (whole pixels; column x of the bar shows Colormap::at(x / (width - 1))).
    QRectF legendRect(const QRectF &area) const;
    QRectF legendBarRect(const QRectF &area) const;

    // How many cells (per row and column) one drawImage may cover so that nearest-neighbour
    // scaling keeps every cell edge within half a device pixel of its patch edge.
    static int cellsPerDraw(double devicePixelsPerCell);

private:
    void paintCells(QPainter &painter, const ViewTransform &view, const QRectF &area) const;
    void paintLegend(QPainter &painter, const QRectF &area) const;
    QString title() const;
    std::array<QString, 3> tickLabels() const;

    void updateCells();

    std::shared_ptr<const AttentionHeatmap> m_heatmap;
    QImage m_cells;     // the heatmap's cell image with the opacity applied (premultiplied)
    QImage m_legendBar; // the colormap, one pixel per bar column, made when the heatmap changes
    double m_opacity = 0.6;
    bool m_legendVisible = true;
    QFont m_font;
};

} // namespace icmil::ui
