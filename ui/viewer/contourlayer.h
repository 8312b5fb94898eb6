// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/viewlayer.h"

#include <QColor>
#include <QPainterPath>
#include <QPolygonF>

#include <vector>

namespace icmil::ui {

// Outlines (tissue contours from preprocessing, annotations) over the slide: polygons in level-0
// coordinates, built into one path once; each paint maps it with the view's transform and
// strokes it with a cosmetic pen (the same width on screen at every zoom).
class ContourLayer : public ViewLayer {
    Q_OBJECT
public:
    explicit ContourLayer(QObject *parent = nullptr);

    // Each polygon is its rings (outer first, then holes), level-0 pixels.
    void setPolygons(const std::vector<std::vector<QPolygonF>> &polygons);
    void clear();
    int polygonCount() const { return m_count; }
    void setColor(const QColor &color);
    QColor color() const { return m_color; }

    void paint(QPainter &painter, const ViewTransform &view, const QRectF &area) override;

private:
    QPainterPath m_path;
    QRectF m_bounds;
    int m_count = 0;
    QColor m_color{0x00, 0xc8, 0x53};
};

} // namespace icmil::ui
