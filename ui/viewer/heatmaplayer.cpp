// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/heatmaplayer.h"

#include "ui/viewer/scalebar.h"

#include <QFontMetricsF>
#include <QPainter>

#include <algorithm>
#include <cmath>
#include <limits>

namespace icmil::ui {

namespace {

// The same look as the scale bar (ViewOverlay): white on a translucent dark backing.
constexpr double kMargin = 12.0;
constexpr double kPadding = 6.0;
constexpr double kBarWidth = 160.0;
constexpr double kBarHeight = 10.0;
constexpr double kTickLength = 3.0;
constexpr double kMaxDriftDevicePixels = 0.5;
const QColor kBacking(0, 0, 0, 150);
const QColor kInk(255, 255, 255);
// The bottom-left corner the scale bar may take: its longest bar plus padding and margins.
constexpr double kScaleBarReserve = kMargin + ScaleBar::kDefaultMaxLength + 2 * kPadding + kMargin;

} // namespace

HeatmapLayer::HeatmapLayer(QObject *parent) : ViewLayer(parent)
{
    m_font.setBold(true);
}

void HeatmapLayer::setHeatmap(std::shared_ptr<const AttentionHeatmap> heatmap)
{
    m_heatmap = std::move(heatmap);
    m_legendBar = QImage();
    updateCells();
    if (m_heatmap) {
        // One column per bar pixel, drawn 1:1 across: column x shows the score x / (width - 1).
        const int width = static_cast<int>(kBarWidth);
        m_legendBar = QImage(width, 1, QImage::Format_RGB32);
        auto *line = reinterpret_cast<QRgb *>(m_legendBar.scanLine(0));
        for (int x = 0; x < width; ++x)
            line[x] = m_heatmap->settings().colormap.at(x / (kBarWidth - 1));
    }
    Q_EMIT changed();
}

void HeatmapLayer::setOpacity(double opacity)
{
    opacity = std::isfinite(opacity) ? std::clamp(opacity, 0.0, 1.0) : m_opacity;
    if (opacity == m_opacity)
        return;
    m_opacity = opacity;
    updateCells();
    Q_EMIT changed();
}

void HeatmapLayer::updateCells()
{
    // The opacity is baked into the (premultiplied) cells once per change: Qt blends a scaled
    // image with a painter opacity ~5x slower than a translucent image drawn opaque.
    m_cells = QImage();
    if (!m_heatmap || m_opacity <= 0.0)
        return;
    if (m_opacity >= 1.0) {
        m_cells = m_heatmap->cellImage(); // shared, not copied
        return;
    }
    m_cells = QImage(m_heatmap->cellImage().size(), QImage::Format_ARGB32_Premultiplied);
    m_cells.fill(Qt::transparent);
    QPainter painter(&m_cells);
    painter.setOpacity(m_opacity);
    painter.drawImage(QPointF(0.0, 0.0), m_heatmap->cellImage());
}

void HeatmapLayer::setLegendVisible(bool visible)
{
    if (visible == m_legendVisible)
        return;
    m_legendVisible = visible;
    Q_EMIT changed();
}

void HeatmapLayer::paint(QPainter &painter, const ViewTransform &view, const QRectF &area)
{
    if (!m_heatmap)
        return;
    if (!m_cells.isNull())
        paintCells(painter, view, area);
    if (m_legendVisible)
        paintLegend(painter, area);
}

int HeatmapLayer::cellsPerDraw(double devicePixelsPerCell)
{
    // Qt's raster engine scales without smoothing in 16.16 fixed point: each device pixel steps
    // through the source by 1/scale rounded to 2^-16, so after n device pixels a cell edge has
    // drifted by up to n * devicePixelsPerCell / 65536 device pixels. Across a run of k cells
    // that is k * devicePixelsPerCell^2 / 65536: keep it under half a pixel. Zoomed out (cells of
    // c device pixels with c * view width <= 32768, e.g. c <= 51 on a 640-pixel view) that is one
    // drawImage for the whole view; from c = 181 on every visible cell gets its own, and there
    // are few of them then ((view width / c + 1) x (view height / c + 1)).
    const double cell = std::max(devicePixelsPerCell, 1e-6);
    const double run = kMaxDriftDevicePixels * 65536.0 / (cell * cell);
    return run >= std::numeric_limits<int>::max() ? std::numeric_limits<int>::max() : std::max(1, static_cast<int>(run));
}

void HeatmapLayer::paintCells(QPainter &painter, const ViewTransform &view, const QRectF &area) const
{
    // Only the cells in view, so the target rectangle stays near the widget's size at any zoom.
    const QRectF cells = m_heatmap->cellRect();
    const QRectF visible = QRectF(view.viewToSlide(area.topLeft()), view.viewToSlide(area.bottomRight())).intersected(cells);
    if (visible.isEmpty())
        return;
    const auto size = static_cast<double>(m_heatmap->patchSize());
    const QImage &image = m_cells;
    const int left = std::clamp(static_cast<int>(std::floor((visible.left() - cells.left()) / size)), 0, image.width());
    const int top = std::clamp(static_cast<int>(std::floor((visible.top() - cells.top()) / size)), 0, image.height());
    const int right = std::clamp(static_cast<int>(std::ceil((visible.right() - cells.left()) / size)), left, image.width());
    const int bottom = std::clamp(static_cast<int>(std::ceil((visible.bottom() - cells.top()) / size)), top, image.height());
    if (right <= left || bottom <= top)
        return;
    const int run = cellsPerDraw(size / view.deviceDownsample());
    painter.save();
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false); // hard cell edges, no blur between patches
    for (int y = top; y < bottom; y += run) {
        const int rows = std::min(run, bottom - y);
        for (int x = left; x < right; x += run) {
            const int columns = std::min(run, right - x);
            const QRectF level0(cells.left() + x * size, cells.top() + y * size, columns * size, rows * size);
            painter.drawImage(view.slideToView(level0), image, QRectF(x, y, columns, rows));
        }
    }
    painter.restore();
}

QString HeatmapLayer::title() const
{
    const HeatmapSettings &settings = m_heatmap->settings();
    return QStringLiteral("%1, %2 \u00b7 %3")
        .arg(m_heatmap->scoreName(), normalisationName(settings.normalisation), settings.colormap.name());
}

std::array<QString, 3> HeatmapLayer::tickLabels() const
{
    if (m_heatmap->settings().normalisation == HeatmapNormalisation::MinMax) {
        const double low = m_heatmap->rawMin();
        const double high = m_heatmap->rawMax();
        return {QString::number(low, 'g', 3), QString::number((low + high) / 2.0, 'g', 3), QString::number(high, 'g', 3)};
    }
    return {QStringLiteral("0"), QStringLiteral("0.5"), QStringLiteral("1")};
}

QRectF HeatmapLayer::legendRect(const QRectF &area) const
{
    if (!m_heatmap)
        return {};
    const QFontMetricsF metrics(m_font);
    const std::array<QString, 3> ticks = tickLabels();
    const double tickWidth = metrics.horizontalAdvance(ticks[0]) / 2 + metrics.horizontalAdvance(ticks[2]) / 2;
    const double width = std::ceil(std::max({kBarWidth + tickWidth, metrics.horizontalAdvance(title())}) + 2 * kPadding);
    const double height = std::ceil(2 * metrics.height() + kBarHeight + kTickLength + 3 * kPadding);
    const double x = std::round(area.right() - kMargin - width);
    // Bottom right, unless the view is so narrow that it would reach the scale bar: then top right.
    const double y = x >= area.left() + kScaleBarReserve ? std::round(area.bottom() - kMargin - height) : std::round(area.top() + kMargin);
    return {x, y, width, height};
}

QRectF HeatmapLayer::legendBarRect(const QRectF &area) const
{
    const QRectF legend = legendRect(area);
    if (legend.isNull())
        return {};
    const QFontMetricsF metrics(m_font);
    const double x = std::round(legend.center().x() - kBarWidth / 2);
    const double y = std::round(legend.top() + kPadding + metrics.height() + kPadding);
    return {x, y, kBarWidth, kBarHeight};
}

void HeatmapLayer::paintLegend(QPainter &painter, const QRectF &area) const
{
    const QRectF legend = legendRect(area);
    const QRectF bar = legendBarRect(area);
    const QFontMetricsF metrics(m_font);
    painter.save();
    painter.setFont(m_font);
    painter.setRenderHint(QPainter::Antialiasing, true);
    painter.setPen(Qt::NoPen);
    painter.setBrush(kBacking);
    painter.drawRoundedRect(legend, 4.0, 4.0);

    painter.setPen(kInk);
    const QRectF titleRect(legend.left() + kPadding, legend.top() + kPadding, legend.width() - 2 * kPadding, metrics.height());
    painter.drawText(titleRect, Qt::AlignHCenter | Qt::AlignVCenter, title());

    painter.setRenderHint(QPainter::Antialiasing, false);
    painter.setRenderHint(QPainter::SmoothPixmapTransform, false);
    painter.drawImage(bar, m_legendBar);
    const std::array<QString, 3> labels = tickLabels();
    for (int i = 0; i < 3; ++i) {
        const double x = std::round(bar.left() + i * (bar.width() - 1) / 2.0);
        painter.fillRect(QRectF(x, bar.bottom(), 1.0, kTickLength), kInk);
        const double labelWidth = metrics.horizontalAdvance(labels[static_cast<std::size_t>(i)]);
        const QRectF labelRect(x - labelWidth / 2, bar.bottom() + kTickLength, labelWidth, metrics.height());
        painter.drawText(labelRect, Qt::AlignCenter, labels[static_cast<std::size_t>(i)]);
    }
    // The threshold: a white mark across the bar; cells under it are not drawn.
    if (const std::optional<double> threshold = m_heatmap->settings().threshold) {
        const double x = std::round(bar.left() + *threshold * (bar.width() - 1));
        painter.fillRect(QRectF(x - 1, bar.top() - 2, 2.0, bar.height() + 4), kInk);
    }
    painter.restore();
}

} // namespace icmil::ui
