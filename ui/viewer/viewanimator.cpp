// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/viewanimator.h"

#include <QEasingCurve>

#include <algorithm>
#include <cmath>

namespace icmil::ui {

namespace {

// Below this release speed (logical px per ms) a drag simply stops.
constexpr double kMinGlideSpeed = 0.15;

} // namespace

ViewAnimator::ViewAnimator(ViewTransform &view, QObject *parent) : QObject(parent), m_view(view)
{
    m_zoom.setDuration(kZoomMs);
    m_zoom.setEasingCurve(QEasingCurve::OutCubic);
    m_glide.setEasingCurve(QEasingCurve::OutCubic);
    connect(&m_zoom, &QVariantAnimation::valueChanged, this, &ViewAnimator::stepZoom);
    connect(&m_glide, &QVariantAnimation::valueChanged, this, &ViewAnimator::stepGlide);
    connect(&m_zoom, &QVariantAnimation::finished, this, &ViewAnimator::finished);
    connect(&m_glide, &QVariantAnimation::finished, this, &ViewAnimator::finished);
    m_clock.start();
}

void ViewAnimator::setEnabled(bool enabled)
{
    if (!enabled)
        stop();
    m_enabled = enabled;
}

void ViewAnimator::stop()
{
    const bool wasMoving = isMoving();
    m_zoom.stop();
    m_glide.stop();
    if (wasMoving)
        Q_EMIT settled();
}

bool ViewAnimator::isZooming() const
{
    return m_zoom.state() == QAbstractAnimation::Running;
}

bool ViewAnimator::isMoving() const
{
    return isZooming() || m_glide.state() == QAbstractAnimation::Running;
}

void ViewAnimator::zoomAt(QPointF viewPos, double factor)
{
    if (!(factor > 0.0) || !std::isfinite(factor))
        return;
    m_glide.stop();
    const double current = m_view.scale();
    const double base = isZooming() ? m_zoomTarget : current; // fast wheel turns accumulate
    m_zoomTarget = std::clamp(base * factor, m_view.minScale(), m_view.maxScale());
    m_zoomAnchor = viewPos;
    if (!m_enabled) {
        m_view.zoomAt(viewPos, m_zoomTarget / current);
        Q_EMIT changed();
        return;
    }
    m_zoom.stop();
    m_zoom.setStartValue(std::log(current));
    m_zoom.setEndValue(std::log(m_zoomTarget));
    m_zoom.start();
}

void ViewAnimator::stepZoom(const QVariant &value)
{
    const double scale = std::exp(value.toDouble());
    if (std::abs(scale - m_view.scale()) <= 1e-12 * scale)
        return;
    m_view.zoomAt(m_zoomAnchor, scale / m_view.scale());
    Q_EMIT changed();
}

void ViewAnimator::panBy(QPointF viewDelta)
{
    // Whole device pixels only; the rest waits for the next pan.
    const double dpr = m_view.devicePixelRatio();
    const QPointF device = viewDelta * dpr + m_remainder;
    const QPointF whole(std::round(device.x()), std::round(device.y()));
    m_remainder = device - whole;
    if (whole.isNull())
        return;
    m_view.panBy(whole / dpr);
    Q_EMIT changed();
}

void ViewAnimator::glideBy(QPointF viewDelta, int ms)
{
    m_zoom.stop();
    m_glide.stop();
    if (!m_enabled || ms <= 0) {
        panBy(viewDelta);
        return;
    }
    m_glideTotal = viewDelta;
    m_glideApplied = QPointF();
    m_glide.setDuration(ms);
    m_glide.setStartValue(0.0);
    m_glide.setEndValue(1.0);
    m_glide.start();
}

void ViewAnimator::stepGlide(const QVariant &value)
{
    const QPointF target = m_glideTotal * value.toDouble();
    const QPointF delta = target - m_glideApplied;
    m_glideApplied = target;
    panBy(delta);
}

void ViewAnimator::finished()
{
    if (!isMoving())
        Q_EMIT settled();
}

void ViewAnimator::pressed(QPointF viewPos)
{
    stop();
    m_lastDrag = viewPos;
    m_samples.clear();
    m_samples.push_back({m_clock.elapsed(), viewPos});
}

void ViewAnimator::dragged(QPointF viewPos)
{
    panBy(viewPos - m_lastDrag);
    m_lastDrag = viewPos;
    const qint64 now = m_clock.elapsed();
    m_samples.push_back({now, viewPos});
    while (m_samples.size() > 3 && now - m_samples.front().ms > 2 * kVelocityWindowMs)
        m_samples.pop_front();
}

void ViewAnimator::released(QPointF viewPos)
{
    dragged(viewPos);
    if (m_samples.size() < 3 || !m_enabled) // press, at least one move, release
        return;
    const Sample &release = m_samples.back();
    const Sample &lastMove = m_samples[m_samples.size() - 2];
    // A pointer that rested before the release does not glide.
    if (release.ms - lastMove.ms > kVelocityWindowMs)
        return;
    // Speed over the last ~50 ms of motion (at least the last two moves).
    std::size_t first = m_samples.size() - 3;
    while (first > 0 && lastMove.ms - m_samples[first - 1].ms <= kVelocityWindowMs)
        --first;
    const Sample &start = m_samples[first];
    const double ms = static_cast<double>(std::max<qint64>(release.ms - start.ms, 8));
    const QPointF velocity = (release.pos - start.pos) / ms; // logical px per ms
    m_samples.clear();
    if (std::hypot(velocity.x(), velocity.y()) < kMinGlideSpeed)
        return;
    // OutCubic starts at 3x the average speed: this total keeps the release speed continuous.
    glideBy(velocity * (kGlideMs / 3.0), kGlideMs);
}

} // namespace icmil::ui
