// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/viewtransform.h"

#include <QElapsedTimer>
#include <QObject>
#include <QPointF>
#include <QVariantAnimation>

#include <deque>

namespace icmil::ui {

// Moves a ViewTransform the way a hand expects: wheel zoom eases to its target over ~120 ms
// (fast wheel turns accumulate into one target), a released drag glides on with the speed of
// its last ~50 ms and slows to rest over ~300 ms. Every pan is rounded to whole device pixels
// (the remainder carried over), so the viewer can scroll its picture instead of re-rendering.
// With animation disabled every change applies at once.
class ViewAnimator : public QObject {
    Q_OBJECT
public:
    static constexpr int kZoomMs = 120;
    static constexpr int kGlideMs = 300;
    static constexpr int kVelocityWindowMs = 50;

    explicit ViewAnimator(ViewTransform &view, QObject *parent = nullptr);

    void setEnabled(bool enabled);
    bool isEnabled() const { return m_enabled; }

    // Scales by `factor` (> 1 zooms out) keeping the slide point under viewPos in place.
    void zoomAt(QPointF viewPos, double factor);
    // Moves the content by `viewDelta` logical pixels; animated: eases there over `ms`.
    void panBy(QPointF viewDelta);
    void glideBy(QPointF viewDelta, int ms);

    void pressed(QPointF viewPos); // a drag starts: stops any motion
    void dragged(QPointF viewPos); // the content follows the pointer
    void released(QPointF viewPos);

    void stop();
    bool isZooming() const;
    bool isMoving() const; // zooming or gliding

Q_SIGNALS:
    void changed(); // the transform moved
    void settled(); // a zoom or glide came to rest

private:
    void stepZoom(const QVariant &value);
    void stepGlide(const QVariant &value);
    void finished();

    ViewTransform &m_view;
    bool m_enabled = true;
    QVariantAnimation m_zoom;
    QPointF m_zoomAnchor;
    double m_zoomTarget = 1.0;
    QVariantAnimation m_glide;
    QPointF m_glideTotal;
    QPointF m_glideApplied;
    QPointF m_remainder; // device pixels not yet applied
    QPointF m_lastDrag;
    QElapsedTimer m_clock;
    struct Sample {
        qint64 ms;
        QPointF pos;
    };
    std::deque<Sample> m_samples;
};

} // namespace icmil::ui
