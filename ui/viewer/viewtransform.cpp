// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/viewtransform.h"

#include <algorithm>
#include <cmath>

namespace icmil::ui {

namespace {

// Deepest zoom: one level-0 pixel covers at most this many DEVICE pixels, so
// minScale = devicePixelRatio / kMaxDevicePixelsPerSlidePixel level-0 px per logical px
// (0.125 at dpr 1, 0.25 at dpr 2: the same physical size on every screen).
constexpr double kMaxDevicePixelsPerSlidePixel = 8.0;
// Widest zoom: the slide may shrink to half the size that just fits the view.
constexpr double kMaxScaleOverFit = 2.0;

QSizeF atLeastOnePixel(QSizeF size)
{
    return {std::max(1.0, size.width()), std::max(1.0, size.height())};
}

double positiveOr(double value, double fallback)
{
    return std::isfinite(value) && value > 0.0 ? value : fallback;
}

} // namespace

ViewTransform::ViewTransform(QSizeF viewSize, double devicePixelRatio, QSizeF slideSize)
    : m_viewSize(atLeastOnePixel(viewSize)), m_dpr(positiveOr(devicePixelRatio, 1.0)), m_slideSize(atLeastOnePixel(slideSize))
{
    fitToWindow();
}

void ViewTransform::setViewSize(QSizeF size, double devicePixelRatio)
{
    m_viewSize = atLeastOnePixel(size);
    m_dpr = positiveOr(devicePixelRatio, 1.0);
    setScale(m_scale); // the limits depend on the view size and the ratio
}

void ViewTransform::setCenter(QPointF level0)
{
    m_center = level0;
    clampCenter();
}

void ViewTransform::setScale(double level0PerLogicalPixel)
{
    m_scale = std::clamp(positiveOr(level0PerLogicalPixel, m_scale), minScale(), maxScale());
    clampCenter();
}

void ViewTransform::zoomAt(QPointF viewPos, double factor)
{
    const QPointF anchor = viewToSlide(viewPos);
    m_scale = std::clamp(m_scale * positiveOr(factor, 1.0), minScale(), maxScale());
    // viewToSlide(viewPos) == anchor again: center + (viewPos - viewCentre) * scale.
    const QPointF viewCentre(m_viewSize.width() / 2.0, m_viewSize.height() / 2.0);
    m_center = anchor - (viewPos - viewCentre) * m_scale;
    clampCenter(); // only moves the anchor when the centre would leave the slide
}

void ViewTransform::panBy(QPointF viewDelta)
{
    m_center -= viewDelta * m_scale;
    clampCenter();
}

void ViewTransform::fitToWindow()
{
    m_scale = fitScale();
    m_center = QPointF(m_slideSize.width() / 2.0, m_slideSize.height() / 2.0);
}

double ViewTransform::fitScale() const
{
    return std::max(m_slideSize.width() / m_viewSize.width(), m_slideSize.height() / m_viewSize.height());
}

double ViewTransform::minScale() const
{
    // A slide so small that it fits at 8 device px per pixel may still be fitted to the window.
    return std::min(m_dpr / kMaxDevicePixelsPerSlidePixel, fitScale());
}

double ViewTransform::maxScale() const
{
    return kMaxScaleOverFit * fitScale();
}

QPointF ViewTransform::viewToSlide(QPointF viewPos) const
{
    const QPointF viewCentre(m_viewSize.width() / 2.0, m_viewSize.height() / 2.0);
    return m_center + (viewPos - viewCentre) * m_scale;
}

QPointF ViewTransform::slideToView(QPointF level0) const
{
    const QPointF viewCentre(m_viewSize.width() / 2.0, m_viewSize.height() / 2.0);
    return viewCentre + (level0 - m_center) / m_scale;
}

QRectF ViewTransform::slideToView(const QRectF &level0) const
{
    return {slideToView(level0.topLeft()), level0.size() / m_scale};
}

QRectF ViewTransform::visibleSlideRect() const
{
    return {viewToSlide(QPointF(0.0, 0.0)), m_viewSize * m_scale};
}

double ViewTransform::magnification(double objectivePower) const
{
    return objectivePower / deviceDownsample();
}

void ViewTransform::setMagnification(double magnification, double objectivePower)
{
    if (!(magnification > 0.0) || !(objectivePower > 0.0))
        return;
    setScale(objectivePower / magnification * m_dpr); // deviceDownsample = objective / magnification
}

void ViewTransform::clampCenter()
{
    if (!std::isfinite(m_center.x()) || !std::isfinite(m_center.y()))
        m_center = QPointF(m_slideSize.width() / 2.0, m_slideSize.height() / 2.0);
    m_center.setX(std::clamp(m_center.x(), 0.0, m_slideSize.width()));
    m_center.setY(std::clamp(m_center.y(), 0.0, m_slideSize.height()));
}

} // namespace icmil::ui
