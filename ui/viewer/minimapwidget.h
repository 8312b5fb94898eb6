// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QImage>
#include <QPixmap>
#include <QRectF>
#include <QSizeF>
#include <QWidget>

namespace icmil::ui {

// The slide's overview thumbnail with the viewer's current view drawn on it as a rectangle.
// Clicking centres the view there; dragging moves it along. Knows nothing of the viewer: it is handed the thumbnail, the
// slide's size and the view rectangle, and asks for a new centre with centerRequested().
class MinimapWidget : public QWidget {
    Q_OBJECT
public:
    explicit MinimapWidget(QWidget *parent = nullptr);

    // thumbnail: the whole slide, any size (a null image clears the minimap).
    void setThumbnail(const QImage &thumbnail, QSizeF slideSize);
    void clear();
    void setViewRect(const QRectF &level0);
    QRectF viewRect() const { return m_view; }
    bool hasThumbnail() const { return !m_thumbnail.isNull(); }

    // Where the thumbnail is drawn in the widget (letterboxed, aspect kept).
    QRectF imageRect() const;
    QPointF widgetToSlide(QPointF widgetPos) const;
    QPointF slideToWidget(QPointF level0) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    void centerRequested(QPointF level0);

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;

private:
    void rescale();

    QImage m_thumbnail;
    QPixmap m_scaled; // the thumbnail at imageRect()'s size and the screen's pixel ratio
    QSizeF m_slideSize;
    QRectF m_view;
    bool m_dragging = false;
};

} // namespace icmil::ui
