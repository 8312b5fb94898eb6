// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <utility>
#include <vector>

namespace icmil::slide {

// One term of a blob outline: radius factor amplitude * cos(order * angle + phase).
struct BlobHarmonic {
    int order = 2;
    double amplitude = 0.0;
    double phase = 0.0;
};

// A star-shaped region: r(angle) = baseRadius * (1 + sum of harmonics), kept above a floor so the
// outline never folds. The radius is tabulated once, so a field evaluation costs one atan2, one
// sqrt and a table look-up.
class PolarBlob {
public:
    PolarBlob(double centreX, double centreY, double baseRadius, const std::vector<BlobHarmonic> &harmonics, double minimumFactor);

    double centreX() const { return m_centreX; }
    double centreY() const { return m_centreY; }
    double baseRadius() const { return m_baseRadius; }
    double minRadius() const { return m_minRadius; } // no boundary point is closer to the centre
    double maxRadius() const { return m_maxRadius; } // no boundary point is farther from the centre

    double radiusAt(double angle) const;
    // r(angle) - distance: positive inside, roughly the distance to the outline in pixels near it.
    double field(double x, double y) const;

    // The outline at `points` equally spaced angles (counter-clockwise in x-right/y-up terms), the
    // first point not repeated.
    std::vector<std::pair<double, double>> outline(int points) const;
    // Area enclosed by outline(points) (shoelace formula).
    static double polygonArea(const std::vector<std::pair<double, double>> &polygon);

    // The same shape moved to a new centre and scaled by `factor`.
    PolarBlob movedAndScaled(double centreX, double centreY, double factor) const;

private:
    PolarBlob() = default;

    static constexpr int kTableSize = 4096;
    double m_centreX = 0.0;
    double m_centreY = 0.0;
    double m_baseRadius = 0.0;
    double m_minRadius = 0.0;
    double m_maxRadius = 0.0;
    std::vector<double> m_radii; // kTableSize + 1 entries, the last equal to the first
};

} // namespace icmil::slide
