// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What a scanning centre and a slide's handling add on top of the tissue (presets camelyon and
// hard, syntheticpreset.h), applied to each rendered level-0 tile in optical density:
//   stain     OD_out = M OD_in + background: M re-expresses the haematoxylin and eosin amounts of
//             the reference stain vectors with the centre's own vectors and concentrations (drawn
//             per centre, jittered per slide); the background OD tints and dims the glass;
//   folds     bands across a tissue piece where the section lies double (its OD scaled up);
//   pen       marker strokes around a tissue piece (ink OD added, on glass and tissue alike).
// Defocus blur is the renderer's (it needs neighbouring pixels); this says whether and how much.
// All drawn from the slide's seed; immutable and shared by the rendering threads.

#include "slide/synthetic/polarblob.h"
#include "slide/synthetic/syntheticpreset.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace icmil::slide {

class SiteAppearance {
public:
    // Inactive (identity) for a preset without site variation.
    SiteAppearance(const PresetModel &model, std::uint64_t seed, const std::vector<PolarBlob> &tissue, double pixelScale);

    bool active() const { return m_active; }
    int centre() const { return m_centre; }
    bool blurred() const { return m_blurSigma > 0.0; }
    double blurSigma() const { return m_blurSigma; }         // level-0 pixels
    double blurThreshold() const { return m_blurThreshold; } // of the defocus field (0..1)
    int penStrokes() const { return static_cast<int>(m_pens.size()); }
    int folds() const { return static_cast<int>(m_folds.size()); }

    // Whether a pen stroke may touch the rectangle (then background tiles need apply()).
    bool penTouches(double left, double top, double right, double bottom) const;
    // Applies stain, folds and pen to `width` x `height` RGB pixels whose top-left is (x0, y0).
    void apply(std::int64_t x0, std::int64_t y0, int width, int height, std::uint8_t *rgb, std::size_t stride) const;
    // One pixel with no fold or pen (the glass table).
    void applyStain(std::uint8_t *pixel) const;

private:
    struct Segment {
        double ax, ay, bx, by;
    };
    struct Pen {
        std::vector<Segment> segments;
        double halfWidth = 0.0;
        double minX = 0.0, minY = 0.0, maxX = 0.0, maxY = 0.0;
        std::array<float, 3> ink{};
        float opacity = 1.0f;
    };
    struct Fold {
        Segment axis{};
        double halfWidth = 0.0;
        float factor = 1.8f;
    };
    std::uint8_t fromDensity(float od) const;

    bool m_active = false;
    int m_centre = 0;
    double m_blurSigma = 0.0;
    double m_blurThreshold = 1.0;
    float m_matrix[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    float m_background[3] = {0, 0, 0};
    std::vector<Pen> m_pens;
    std::vector<Fold> m_folds;
    std::array<float, 256> m_density{};    // byte -> OD
    std::vector<std::uint8_t> m_intensity; // OD * kDensitySteps -> byte
};

} // namespace icmil::slide
