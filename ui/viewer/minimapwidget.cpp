// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/minimapwidget.h"

#include <QMouseEvent>
#include <QPainter>

#include <algorithm>

namespace icmil::ui {

namespace {

constexpr double kMargin = 4.0;
constexpr double kMinMarker = 6.0; // below this the view is marked with a cross
const QColor kBackground(0x2b, 0x2d, 0x30);
const QColor kViewColor(255, 196, 0);

} // namespace

MinimapWidget::MinimapWidget(QWidget *parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("minimap"));
    setAttribute(Qt::WA_OpaquePaintEvent);
    setCursor(Qt::PointingHandCursor);
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
}

QSize MinimapWidget::sizeHint() const
{
    return {280, 220};
}

QSize MinimapWidget::minimumSizeHint() const
{
    return {120, 90};
}

void MinimapWidget::setThumbnail(const QImage &thumbnail, QSizeF slideSize)
{
    m_thumbnail = thumbnail;
    m_slideSize = slideSize;
    rescale();
    update();
}

void MinimapWidget::clear()
{
    setThumbnail(QImage(), QSizeF());
    m_view = QRectF();
}

void MinimapWidget::setViewRect(const QRectF &level0)
{
    if (level0 == m_view)
        return;
    m_view = level0;
    update();
}

QRectF MinimapWidget::imageRect() const
{
    if (m_thumbnail.isNull() || m_slideSize.isEmpty())
        return {};
    const QRectF area = QRectF(rect()).adjusted(kMargin, kMargin, -kMargin, -kMargin);
    if (area.isEmpty())
        return {};
    const QSizeF size = m_slideSize.scaled(area.size(), Qt::KeepAspectRatio);
    return {area.center().x() - size.width() / 2.0, area.center().y() - size.height() / 2.0, size.width(), size.height()};
}

QPointF MinimapWidget::widgetToSlide(QPointF widgetPos) const
{
    const QRectF image = imageRect();
    if (image.isEmpty())
        return {};
    const double x = (widgetPos.x() - image.left()) / image.width() * m_slideSize.width();
    const double y = (widgetPos.y() - image.top()) / image.height() * m_slideSize.height();
    return {std::clamp(x, 0.0, m_slideSize.width()), std::clamp(y, 0.0, m_slideSize.height())};
}

QPointF MinimapWidget::slideToWidget(QPointF level0) const
{
    const QRectF image = imageRect();
    if (image.isEmpty())
        return {};
    return {image.left() + level0.x() / m_slideSize.width() * image.width(),
            image.top() + level0.y() / m_slideSize.height() * image.height()};
}

void MinimapWidget::rescale()
{
    const QRectF image = imageRect();
    if (image.isEmpty()) {
        m_scaled = QPixmap();
        return;
    }
    const double dpr = devicePixelRatioF();
    const QSize device = (image.size() * dpr).toSize();
    QImage scaled = m_thumbnail.scaled(device, Qt::IgnoreAspectRatio, Qt::SmoothTransformation);
    scaled.setDevicePixelRatio(dpr);
    m_scaled = QPixmap::fromImage(std::move(scaled));
}

void MinimapWidget::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    rescale();
}

void MinimapWidget::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.fillRect(rect(), kBackground);
    const QRectF image = imageRect();
    if (image.isEmpty() || m_scaled.isNull())
        return;
    painter.drawPixmap(image.topLeft(), m_scaled);
    if (m_view.isEmpty())
        return;

    const QRectF view = QRectF(slideToWidget(m_view.topLeft()), slideToWidget(m_view.bottomRight())) & image;
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setBrush(Qt::NoBrush);
    if (view.width() < kMinMarker && view.height() < kMinMarker) {
        // Deep zoom: the rectangle would vanish; mark its centre with a cross.
        const QPointF c = view.isNull() ? slideToWidget(m_view.center()) : view.center();
        painter.setPen(QPen(QColor(0, 0, 0, 180), 4.0));
        painter.drawLine(c - QPointF(8, 0), c + QPointF(8, 0));
        painter.drawLine(c - QPointF(0, 8), c + QPointF(0, 8));
        painter.setPen(QPen(kViewColor, 2.0));
        painter.drawLine(c - QPointF(8, 0), c + QPointF(8, 0));
        painter.drawLine(c - QPointF(0, 8), c + QPointF(0, 8));
        return;
    }
    // A dark halo under a bright line: visible on pale glass and on dark tissue alike.
    painter.setPen(QPen(QColor(0, 0, 0, 160), 4.0));
    painter.drawRect(view.adjusted(1, 1, -1, -1));
    painter.setPen(QPen(kViewColor, 2.0));
    painter.drawRect(view.adjusted(1, 1, -1, -1));
}

void MinimapWidget::mousePressEvent(QMouseEvent *event)
{
    if (event->button() != Qt::LeftButton || imageRect().isEmpty()) {
        QWidget::mousePressEvent(event);
        return;
    }
    m_dragging = true;
    Q_EMIT centerRequested(widgetToSlide(event->position()));
}

void MinimapWidget::mouseMoveEvent(QMouseEvent *event)
{
    if (m_dragging)
        Q_EMIT centerRequested(widgetToSlide(event->position()));
}

void MinimapWidget::mouseReleaseEvent(QMouseEvent *event)
{
    if (event->button() == Qt::LeftButton)
        m_dragging = false;
    QWidget::mouseReleaseEvent(event);
}

} // namespace icmil::ui
