// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QString>

#include <optional>

namespace icmil::ui {

// The length and label of a viewer's scale bar: the longest "nice" length (1, 2 or 5 times a
// power of ten) that fits in maxLogicalLength logical pixels. Lengths are in micrometres
// (labelled "µm" below 1 mm, "mm" from there) when the slide's mpp is known, otherwise in
// level-0 pixels ("px"). Pure math, value type: no painting.
class ScaleBar {
public:
    static constexpr double kDefaultMaxLength = 160.0;

    ScaleBar() = default;
    // mpp: micrometres per level-0 pixel (nullopt or <= 0: unknown);
    // level0PerLogicalPixel: the view's scale (ViewTransform::scale()).
    ScaleBar(std::optional<double> mpp, double level0PerLogicalPixel, double maxLogicalLength = kDefaultMaxLength);

    bool isValid() const { return m_logicalLength > 0.0; }
    double logicalLength() const { return m_logicalLength; } // the bar's length on screen
    double value() const { return m_value; }                 // in units()
    bool inMicrometres() const { return m_micrometres; }
    QString label() const; // "50 µm", "2 mm", "500 px"

    // The largest 1-2-5 x 10^k not above x (x > 0); 0 for x <= 0 or not finite.
    static double niceBelow(double x);

private:
    double m_logicalLength = 0.0;
    double m_value = 0.0; // micrometres or level-0 pixels
    bool m_micrometres = false;
};

} // namespace icmil::ui
