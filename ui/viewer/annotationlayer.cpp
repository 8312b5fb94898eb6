// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/annotationlayer.h"

#include "ui/viewer/viewtransform.h"

#include <QPainter>
#include <QPen>

#include <algorithm>

namespace icmil::ui {

namespace {

QString shownName(const QString &className)
{
    return className.isEmpty() ? QStringLiteral("(unclassified)") : className;
}

} // namespace

AnnotationLayer::AnnotationLayer(QObject *parent) : ViewLayer(parent)
{ }

QColor AnnotationLayer::colourFor(const QString &className)
{
    const auto hash = static_cast<int>(qHash(className) % 360u);
    return QColor::fromHsv(hash, 200, 230);
}

void AnnotationLayer::setShapes(const std::vector<Shape> &shapes)
{
    m_shapes.clear();
    m_bounds = QRectF();
    for (const Shape &shape : shapes) {
        Built built;
        built.className = shownName(shape.className);
        built.colour = shape.colour.isValid() ? shape.colour : colourFor(built.className);
        built.path.setFillRule(Qt::OddEvenFill);
        for (const std::vector<QPolygonF> &rings : shape.polygons) {
            for (const QPolygonF &ring : rings) {
                if (ring.size() < 3)
                    continue;
                QPolygonF closed = ring;
                if (!closed.isClosed())
                    closed << closed.front();
                built.path.addPolygon(closed);
            }
        }
        built.bounds = built.path.boundingRect();
        m_bounds = m_bounds.united(built.bounds);
        m_shapes.push_back(std::move(built));
    }
    Q_EMIT changed();
}

QStringList AnnotationLayer::classNames() const
{
    QStringList names;
    for (const Built &shape : m_shapes)
        if (!names.contains(shape.className))
            names << shape.className;
    names.sort();
    return names;
}

QColor AnnotationLayer::classColour(const QString &className) const
{
    for (const Built &shape : m_shapes)
        if (shape.className == className)
            return shape.colour;
    return colourFor(className);
}

void AnnotationLayer::setFilled(bool filled)
{
    if (filled == m_filled)
        return;
    m_filled = filled;
    Q_EMIT changed();
}

void AnnotationLayer::setClassVisible(const QString &className, bool visible)
{
    if (visible == !m_hidden.contains(className))
        return;
    if (visible)
        m_hidden.remove(className);
    else
        m_hidden.insert(className);
    Q_EMIT changed();
}

QString AnnotationLayer::classAt(const QPointF &level0) const
{
    for (auto shape = m_shapes.rbegin(); shape != m_shapes.rend(); ++shape)
        if (!m_hidden.contains(shape->className) && shape->bounds.contains(level0) && shape->path.contains(level0))
            return shape->className;
    return {};
}

void AnnotationLayer::paint(QPainter &painter, const ViewTransform &view, const QRectF &area)
{
    if (m_shapes.empty() || !view.slideToView(m_bounds).intersects(area))
        return;
    const QPointF origin = view.slideToView(QPointF(0.0, 0.0));
    const double perPixel = 1.0 / view.scale();
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setTransform(QTransform(perPixel, 0, 0, perPixel, origin.x(), origin.y()), true);
    for (const Built &shape : m_shapes) {
        if (m_hidden.contains(shape.className) || !view.slideToView(shape.bounds).intersects(area))
            continue;
        QPen pen(shape.colour, 2.0);
        pen.setCosmetic(true);
        painter.setPen(pen);
        if (m_filled) {
            QColor fill = shape.colour;
            fill.setAlpha(90);
            painter.setBrush(fill);
        } else {
            painter.setBrush(Qt::NoBrush);
        }
        painter.drawPath(shape.path);
    }
    painter.restore();
}

} // namespace icmil::ui
