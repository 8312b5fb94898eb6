// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/polarblob.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace icmil::slide {

PolarBlob::PolarBlob(double centreX, double centreY, double baseRadius, const std::vector<BlobHarmonic> &harmonics, double minimumFactor)
    : m_centreX(centreX), m_centreY(centreY), m_baseRadius(baseRadius), m_radii(kTableSize + 1)
{
    for (int i = 0; i < kTableSize; ++i) {
        const double angle = 2.0 * std::numbers::pi * i / kTableSize;
        double factor = 1.0;
        for (const BlobHarmonic &harmonic : harmonics)
            factor += harmonic.amplitude * std::cos(harmonic.order * angle + harmonic.phase);
        m_radii[static_cast<std::size_t>(i)] = baseRadius * std::max(factor, minimumFactor);
    }
    m_radii[kTableSize] = m_radii[0];
    const auto [low, high] = std::minmax_element(m_radii.begin(), m_radii.end());
    m_minRadius = *low;
    m_maxRadius = *high;
}

double PolarBlob::radiusAt(double angle) const
{
    double position = angle * (kTableSize / (2.0 * std::numbers::pi));
    if (position < 0.0)
        position += kTableSize;
    position = std::clamp(position, 0.0, static_cast<double>(kTableSize) - 1e-9);
    const auto index = static_cast<std::size_t>(position);
    const double t = position - static_cast<double>(index);
    return m_radii[index] + (m_radii[index + 1] - m_radii[index]) * t;
}

double PolarBlob::field(double x, double y) const
{
    const double dx = x - m_centreX;
    const double dy = y - m_centreY;
    const double distance = std::sqrt(dx * dx + dy * dy);
    return radiusAt(std::atan2(dy, dx)) - distance;
}

std::vector<std::pair<double, double>> PolarBlob::outline(int points) const
{
    std::vector<std::pair<double, double>> polygon;
    polygon.reserve(static_cast<std::size_t>(points));
    for (int i = 0; i < points; ++i) {
        const double angle = 2.0 * std::numbers::pi * i / points;
        const double radius = radiusAt(angle);
        polygon.emplace_back(m_centreX + radius * std::cos(angle), m_centreY + radius * std::sin(angle));
    }
    return polygon;
}

double PolarBlob::polygonArea(const std::vector<std::pair<double, double>> &polygon)
{
    double twiceArea = 0.0;
    for (std::size_t i = 0; i < polygon.size(); ++i) {
        const auto &[x0, y0] = polygon[i];
        const auto &[x1, y1] = polygon[(i + 1) % polygon.size()];
        twiceArea += x0 * y1 - x1 * y0;
    }
    return std::abs(twiceArea) / 2.0;
}

PolarBlob PolarBlob::movedAndScaled(double centreX, double centreY, double factor) const
{
    PolarBlob moved;
    moved.m_centreX = centreX;
    moved.m_centreY = centreY;
    moved.m_baseRadius = m_baseRadius * factor;
    moved.m_minRadius = m_minRadius * factor;
    moved.m_maxRadius = m_maxRadius * factor;
    moved.m_radii = m_radii;
    for (double &radius : moved.m_radii)
        radius *= factor;
    return moved;
}

} // namespace icmil::slide
