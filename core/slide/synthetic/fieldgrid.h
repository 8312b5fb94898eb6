// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/synthetic/smoothrandomfield.h"
#include "slide/synthetic/tissuephantom.h"

#include <cstdint>
#include <vector>

namespace icmil::slide {

// The phantom's fields sampled every kStep level-0 pixels around one tile (nodes at global
// multiples of kStep, so every tile sees identical node values), plus slowly varying stain and
// fibre-warp values. Pixels and nucleus centres read it by bilinear interpolation.
class FieldGrid {
public:
    static constexpr int kStep = 16;

    struct Sample {
        float tissue = 0.0f;
        float tumour = 0.0f;
        float hole = 0.0f;
        float warp = 0.0f;
        float stain = 0.0f;
        float mimic = 0.0f;
        float centre = 0.0f;
    };
    enum Channel { Tissue = 0, Tumour, Hole, Warp, Stain, Mimic, Centre, ChannelCount };

    explicit FieldGrid(const TissuePhantom &phantom);

    // Evaluates the nodes covering [left - margin, right + margin] x [top - margin, bottom + margin].
    // left/top and margin must be multiples of kStep.
    void evaluate(std::int64_t left, std::int64_t top, int size, int margin);

    // Interpolated values at a level-0 point inside the evaluated area.
    Sample sample(double x, double y) const;

    // Node value by index relative to the tile's top-left node (may be negative down to -margin/kStep).
    float node(Channel channel, int column, int row) const
    {
        return m_values[static_cast<std::size_t>(channel)]
                       [static_cast<std::size_t>((row + m_marginNodes) * m_columns + column + m_marginNodes)];
    }
    float maximum(Channel channel) const { return m_maximum[static_cast<std::size_t>(channel)]; }

private:
    const TissuePhantom &m_phantom;
    PhantomObjectSet m_objects;
    SmoothRandomField m_warpCoarse; // fibre waviness
    SmoothRandomField m_warpFine;
    SmoothRandomField m_stainCoarse; // stain intensity and cellularity
    SmoothRandomField m_stainFine;
    std::int64_t m_originX = 0; // level-0 position of node (0, 0) of the arrays
    std::int64_t m_originY = 0;
    int m_columns = 0;
    int m_rows = 0;
    int m_marginNodes = 0;
    std::vector<float> m_values[ChannelCount];
    float m_maximum[ChannelCount] = {};
};

} // namespace icmil::slide
