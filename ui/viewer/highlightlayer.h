// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/viewlayer.h"

#include <QRectF>

namespace icmil::ui {

// Outlines one level-0 rectangle (a patch the user picked from the attention gallery) so it is
// found at a glance: a dark line inside a light one, visible on tissue, glass and any heatmap.
class HighlightLayer : public ViewLayer {
    Q_OBJECT
public:
    using ViewLayer::ViewLayer;

    void setRect(const QRectF &level0); // empty: nothing outlined
    const QRectF &rect() const { return m_rect; }
    void paint(QPainter &painter, const ViewTransform &view, const QRectF &area) override;

private:
    QRectF m_rect;
};

} // namespace icmil::ui
