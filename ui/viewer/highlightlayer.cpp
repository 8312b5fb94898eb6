// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/highlightlayer.h"

#include <QPainter>
#include <QPen>

namespace icmil::ui {

void HighlightLayer::setRect(const QRectF &level0)
{
    if (level0 == m_rect)
        return;
    m_rect = level0;
    Q_EMIT changed();
}

void HighlightLayer::paint(QPainter &painter, const ViewTransform &view, const QRectF &area)
{
    if (m_rect.isEmpty())
        return;
    const QRectF shown(view.slideToView(m_rect.topLeft()), view.slideToView(m_rect.bottomRight()));
    if (!shown.intersects(area.adjusted(-4, -4, 4, 4)))
        return;
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setBrush(Qt::NoBrush);
    painter.setPen(QPen(QColor(255, 255, 255, 230), 4.0));
    painter.drawRect(shown.adjusted(-2, -2, 2, 2));
    painter.setPen(QPen(QColor(20, 20, 20, 255), 2.0));
    painter.drawRect(shown.adjusted(-2, -2, 2, 2));
    painter.restore();
}

} // namespace icmil::ui
