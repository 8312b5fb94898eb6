// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/viewlayer.h"

#include <QColor>
#include <QPainterPath>
#include <QPolygonF>
#include <QSet>
#include <QString>
#include <QStringList>

#include <vector>

namespace icmil::ui {

// Pathologists' annotations over the slide: shapes in level-0 coordinates, each with its class
// and colour, drawn outlined (a cosmetic 2-px pen, the same on screen at every zoom) or filled
// (translucent, outlined), with classes hidden on request; classAt() answers which class lies
// under a point, for the hover readout. Shapes are built into one path per shape once.
class AnnotationLayer : public ViewLayer {
    Q_OBJECT
public:
    struct Shape {
        QString className; // "" for unclassified
        QColor colour;     // invalid: a colour from the class name
        bool exclusion = false;
        std::vector<std::vector<QPolygonF>> polygons; // each: outer ring, then holes; level-0 pixels
    };

    explicit AnnotationLayer(QObject *parent = nullptr);

    void setShapes(const std::vector<Shape> &shapes);
    void clear() { setShapes({}); }
    int shapeCount() const { return static_cast<int>(m_shapes.size()); }
    QStringList classNames() const; // sorted; "(unclassified)" for ""
    QColor classColour(const QString &className) const;

    void setFilled(bool filled);
    bool filled() const { return m_filled; }
    void setClassVisible(const QString &className, bool visible);
    bool classVisible(const QString &className) const { return !m_hidden.contains(className); }

    // The class of the topmost visible shape containing the level-0 point; "" when none (an
    // unclassified shape answers "(unclassified)").
    QString classAt(const QPointF &level0) const;

    void paint(QPainter &painter, const ViewTransform &view, const QRectF &area) override;

    // A stable colour for a class without one (hue from the name).
    static QColor colourFor(const QString &className);

private:
    struct Built {
        QString className;
        QColor colour;
        QPainterPath path;
        QRectF bounds;
    };
    std::vector<Built> m_shapes;
    QSet<QString> m_hidden;
    bool m_filled = false;
    QRectF m_bounds;
};

} // namespace icmil::ui
