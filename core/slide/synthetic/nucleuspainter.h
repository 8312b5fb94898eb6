// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>

namespace icmil::slide {

class FieldGrid;
class TissuePhantom;

// Paints the haematoxylin layer: nuclei on jittered cell grids (normal tissue, tumour, and in the
// harder presets the lymphocytes and germinal-centre cells of lymphoid aggregates),
// each nucleus drawn from a hash of (seed, layer, cell) and kept where the interpolated fields at
// its centre say so. A nucleus that straddles tiles is therefore identical in each of them.
class NucleusPainter {
public:
    explicit NucleusPainter(const TissuePhantom &phantom);

    // Farthest a painted pixel can lie from its nucleus's cell-grid centre (level-0 pixels).
    double reach() const { return m_reach; }

    // Paints over the base colours of the tile with top-left (x0, y0). `grid` must cover the tile
    // plus reach() on each side.
    void paint(const FieldGrid &grid, std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb, std::size_t stride) const;

private:
    struct Nucleus {
        float centreX = 0.0f;
        float centreY = 0.0f;
        float cosAngle = 1.0f;
        float sinAngle = 0.0f;
        float inverseMajor2 = 1.0f; // 1 / semi-axis^2
        float inverseMinor2 = 1.0f;
        float sharpness = 1.0f; // alpha ramp steepness at the outline
        float lobeX = 0.0f;     // second, round lobe (tumour nuclei); lobeRadius 0 = none
        float lobeY = 0.0f;
        float lobeInverseRadius2 = 0.0f;
        float extent = 0.0f; // bounding half-size, pixels
        float red = 0.0f;
        float green = 0.0f;
        float blue = 0.0f;
        float opacity = 1.0f;
        bool vesicular = false; // darker rim, pale centre, nucleolus
    };
    enum class Layer { Normal, Tumour, Lymphocyte, Centroblast };

    void paintLayer(Layer layer, const FieldGrid &grid, std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb,
                    std::size_t stride) const;
    // Draws the nucleus of one grid cell; false when the cell is empty or cannot reach the tile.
    bool makeNucleus(Layer layer, std::int64_t column, std::int64_t row, const FieldGrid &grid, std::int64_t x0, std::int64_t y0, int size,
                     Nucleus &nucleus) const;
    void splat(const Nucleus &nucleus, std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb, std::size_t stride) const;

    const TissuePhantom &m_phantom;
    std::uint64_t m_seed;
    std::uint32_t m_grainSeed;
    double m_scale;
    double m_normalPitch;
    double m_tumourPitch;
    double m_lymphocytePitch;
    double m_centroblastPitch;
    double pitch(Layer layer) const;
    double m_reach;
};

} // namespace icmil::slide
