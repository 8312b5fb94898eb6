#pragma once

#include "ui/viewer/attentionheatmap.h"
#include "ui/viewer/viewlayer.h"

#include <QFont>
#include <QImage>
#include <QRectF>

#include <memory>

namespace icmil::ui {

// Draws an AttentionHeatmap over the slide: its cell image (one pixel per patch) scaled with
// nearest-neighbour sampling onto the patches' level-0 squares, so every cell edge lands on its
// patch edge at every zoom, then a legend (colour bar, ticks, normalisation, colormap) in the
// bottom-right corner, clear of the scale bar (bottom left) and the magnification (top left).
// A paint is one drawImage of the visible cells plus the legend: nothing is recomputed.
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
    // (whole pixels: the bar's first column is the colormap's first entry, its last the last).
    QRectF legendRect(const QRectF &area) const;
    QRectF legendBarRect(const QRectF &area) const;

private:
    void paintCells(QPainter &painter, const ViewTransform &view, const QRectF &area) const;
    void paintLegend(QPainter &painter, const QRectF &area) const;
    QString title() const;
    std::array<QString, 3> tickLabels() const;

    std::shared_ptr<const AttentionHeatmap> m_heatmap;
    QImage m_legendBar; // the colormap as a kSize x 1 image, made when the heatmap changes
    double m_opacity = 0.6;
    bool m_legendVisible = true;
    QFont m_font;
};

} // namespace icmil::ui
