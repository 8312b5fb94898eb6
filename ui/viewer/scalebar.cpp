// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/scalebar.h"

#include "common/numberformat.h"

#include <cmath>

namespace icmil::ui {

namespace {

// "0.5", "2", "100": shortest form, no trailing zeros.
QString number(double value)
{
    return QString::fromStdString(formatSignificant(value));
}

} // namespace

ScaleBar::ScaleBar(std::optional<double> mpp, double level0PerLogicalPixel, double maxLogicalLength)
{
    if (!std::isfinite(level0PerLogicalPixel) || level0PerLogicalPixel <= 0.0 || !(maxLogicalLength > 0.0))
        return;
    m_micrometres = mpp && std::isfinite(*mpp) && *mpp > 0.0;
    const double unitsPerLogicalPixel = m_micrometres ? *mpp * level0PerLogicalPixel : level0PerLogicalPixel;
    m_value = niceBelow(unitsPerLogicalPixel * maxLogicalLength);
    m_logicalLength = m_value / unitsPerLogicalPixel;
}

QString ScaleBar::label() const
{
    if (!isValid())
        return {};
    if (!m_micrometres)
        return QStringLiteral("%1 px").arg(number(m_value));
    if (m_value >= 1000.0)
        return QStringLiteral("%1 mm").arg(number(m_value / 1000.0));
    return QStringLiteral("%1 µm").arg(number(m_value));
}

double ScaleBar::niceBelow(double x)
{
    if (!std::isfinite(x) || x <= 0.0)
        return 0.0;
    const double power = std::pow(10.0, std::floor(std::log10(x)));
    // Guard against log10 rounding (e.g. x = 1000 giving 99.999... as the power).
    double best = power;
    for (const double mantissa : {1.0, 2.0, 5.0, 10.0}) {
        const double candidate = mantissa * power;
        if (candidate <= x * (1.0 + 1e-12))
            best = candidate;
    }
    return best;
}

} // namespace icmil::ui
