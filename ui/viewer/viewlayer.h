// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/viewtransform.h"

#include <QObject>
#include <QRectF>

class QPainter;

namespace icmil::ui {

// Something drawn over the slide (an attention heatmap, tissue contours, annotations): painted
// after the tiles and before the scale bar, in logical view pixels, on every repaint and in
// SlideViewer::renderView(). A layer keeps whatever it needs precomputed (never reads files or
// recomputes per frame) and emits changed() when its picture changes. Painted on the GUI thread.
class ViewLayer : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
    ~ViewLayer() override = default;

    // `view` maps level-0 <-> logical view pixels; `area` is the widget's rectangle.
    virtual void paint(QPainter &painter, const ViewTransform &view, const QRectF &area) = 0;

    bool isVisible() const { return m_visible; }
    void setVisible(bool visible)
    {
        if (visible == m_visible)
            return;
        m_visible = visible;
        Q_EMIT changed();
    }

Q_SIGNALS:
    void changed(); // repaint

private:
    bool m_visible = true;
};

} // namespace icmil::ui
