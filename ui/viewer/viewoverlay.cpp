// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/viewoverlay.h"

#include <QFontMetricsF>
#include <QPainter>

#include <algorithm>
#include <cmath>

namespace icmil::ui {

namespace {

constexpr double kMargin = 12.0;
constexpr double kPadding = 6.0;
constexpr double kBarHeight = 5.0;
const QColor kBacking(0, 0, 0, 150);
const QColor kInk(255, 255, 255);

} // namespace

ViewOverlay::ViewOverlay()
{
    m_font.setBold(true);
}

void ViewOverlay::paint(QPainter &painter, const QRectF &viewRect, const ScaleBar &bar, const QString &magnification) const
{
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setFont(m_font);
    if (bar.isValid())
        paintScaleBar(painter, viewRect, bar);
    if (!magnification.isEmpty())
        paintLabel(painter, viewRect, magnification);
    painter.restore();
}

void ViewOverlay::paintScaleBar(QPainter &painter, const QRectF &viewRect, const ScaleBar &bar) const
{
    const QFontMetricsF metrics(m_font);
    const QString text = bar.label();
    const double textHeight = metrics.height();
    const double length = bar.logicalLength();
    const double width = std::max(length, metrics.horizontalAdvance(text)) + 2 * kPadding;
    const double height = textHeight + kBarHeight + 3 * kPadding;
    const QRectF backing(viewRect.left() + kMargin, viewRect.bottom() - kMargin - height, width, height);
    painter.setPen(Qt::NoPen);
    painter.setBrush(kBacking);
    painter.drawRoundedRect(backing, 4.0, 4.0);

    painter.setPen(kInk);
    const QRectF textRect(backing.left() + kPadding, backing.top() + kPadding, width - 2 * kPadding, textHeight);
    painter.drawText(textRect, Qt::AlignLeft | Qt::AlignVCenter, text);
    // The bar itself, with end ticks, at whole pixels so its length reads exactly.
    const double x0 = std::round(backing.left() + kPadding);
    const double y0 = std::round(textRect.bottom() + kPadding);
    painter.setRenderHint(QPainter::Antialiasing, false);
    painter.fillRect(QRectF(x0, y0, std::round(length), kBarHeight), kInk);
    painter.fillRect(QRectF(x0, y0 - 3, 1.5, kBarHeight + 3), kInk);
    painter.fillRect(QRectF(x0 + std::round(length) - 1.5, y0 - 3, 1.5, kBarHeight + 3), kInk);
    painter.setRenderHint(QPainter::Antialiasing, true);
}

void ViewOverlay::paintLabel(QPainter &painter, const QRectF &viewRect, const QString &text) const
{
    const QFontMetricsF metrics(m_font);
    const QRectF backing(viewRect.left() + kMargin, viewRect.top() + kMargin, metrics.horizontalAdvance(text) + 2 * kPadding,
                         metrics.height() + kPadding);
    painter.setPen(Qt::NoPen);
    painter.setBrush(kBacking);
    painter.drawRoundedRect(backing, 4.0, 4.0);
    painter.setPen(kInk);
    painter.drawText(backing, Qt::AlignCenter, text);
}

} // namespace icmil::ui
