// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QPointF>
#include <QRectF>
#include <QSizeF>

namespace icmil::ui {

// Maps between the viewer's logical (device-independent) pixels and level-0 slide pixels.
// State: the level-0 point at the view's centre and the scale in level-0 pixels per logical
// pixel. devicePixelRatio turns that into level-0 pixels per *device* pixel, which is what picks
// the pyramid level, so HiDPI screens get the sharper level. Pure math, value type.
class ViewTransform {
public:
    ViewTransform() = default;
    ViewTransform(QSizeF viewSize, double devicePixelRatio, QSizeF slideSize);

    QSizeF viewSize() const { return m_viewSize; }
    double devicePixelRatio() const { return m_dpr; }
    QSizeF slideSize() const { return m_slideSize; }
    QPointF center() const { return m_center; }
    double scale() const { return m_scale; }                    // level-0 px per logical px
    double deviceDownsample() const { return m_scale / m_dpr; } // level-0 px per device px

    void setViewSize(QSizeF size, double devicePixelRatio);
    void setCenter(QPointF level0);
    void setScale(double level0PerLogicalPixel); // clamped to [minScale, maxScale]
    // Keeps the slide point under viewPos where it is while scaling by `factor` (>1 zooms out).
    void zoomAt(QPointF viewPos, double factor);
    void panBy(QPointF viewDelta); // moves the content by viewDelta logical px
    void fitToWindow();            // whole slide visible, centred

    double fitScale() const; // scale at which the slide just fits
    double minScale() const; // most zoomed in: dpr / 8 (8 device px per level-0 px),
                             // or fitScale() for a slide smaller than that
    double maxScale() const; // most zoomed out: 2 x fitScale() (slide at half fit)

    QPointF viewToSlide(QPointF viewPos) const;
    QPointF slideToView(QPointF level0) const;
    QRectF slideToView(const QRectF &level0) const;
    QRectF visibleSlideRect() const; // the view's area in level-0 coordinates (unclipped)

    // Screen magnification for a slide scanned at objectivePower: objective / deviceDownsample.
    double magnification(double objectivePower) const;
    void setMagnification(double magnification, double objectivePower);

private:
    void clampCenter();

    QSizeF m_viewSize{1, 1};
    double m_dpr = 1.0;
    QSizeF m_slideSize{1, 1};
    QPointF m_center{0.5, 0.5};
    double m_scale = 1.0;
};

} // namespace icmil::ui
