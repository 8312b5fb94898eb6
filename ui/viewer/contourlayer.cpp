// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/contourlayer.h"

#include <QPainter>
#include <QPen>

namespace icmil::ui {

ContourLayer::ContourLayer(QObject *parent) : ViewLayer(parent)
{ }

void ContourLayer::setPolygons(const std::vector<std::vector<QPolygonF>> &polygons)
{
    m_path = QPainterPath();
    m_path.setFillRule(Qt::OddEvenFill);
    for (const std::vector<QPolygonF> &rings : polygons) {
        for (const QPolygonF &ring : rings) {
            if (ring.size() < 2)
                continue;
            QPolygonF closed = ring;
            if (!closed.isClosed())
                closed << closed.front();
            m_path.addPolygon(closed);
        }
    }
    m_bounds = m_path.boundingRect();
    m_count = static_cast<int>(polygons.size());
    Q_EMIT changed();
}

void ContourLayer::clear()
{
    setPolygons({});
}

void ContourLayer::setColor(const QColor &color)
{
    if (color == m_color)
        return;
    m_color = color;
    Q_EMIT changed();
}

void ContourLayer::paint(QPainter &painter, const ViewTransform &view, const QRectF &area)
{
    if (m_count == 0 || !view.slideToView(m_bounds).intersects(area))
        return;
    // level-0 -> view: x' = (x - left) / scale, the same map slideToView applies.
    const QPointF origin = view.slideToView(QPointF(0.0, 0.0));
    const double perPixel = 1.0 / view.scale();
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setTransform(QTransform(perPixel, 0, 0, perPixel, origin.x(), origin.y()), true);
    QPen pen(m_color, 2.0);
    pen.setCosmetic(true);
    painter.setPen(pen);
    painter.setBrush(Qt::NoBrush);
    painter.drawPath(m_path);
}

} // namespace icmil::ui
