// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/scalebar.h"

#include <QFont>
#include <QRectF>
#include <QString>

class QPainter;

namespace icmil::ui {

// The viewer's read-outs drawn over the slide: the scale bar (bottom left) and the
// magnification (top left), white on a translucent dark backing so they read on any tissue.
class ViewOverlay {
public:
    ViewOverlay();

    void setFont(const QFont &font) { m_font = font; }
    // viewRect: the widget's rectangle in logical pixels.
    void paint(QPainter &painter, const QRectF &viewRect, const ScaleBar &bar, const QString &magnification) const;

private:
    void paintScaleBar(QPainter &painter, const QRectF &viewRect, const ScaleBar &bar) const;
    void paintLabel(QPainter &painter, const QRectF &viewRect, const QString &text) const;

    QFont m_font;
};

} // namespace icmil::ui
