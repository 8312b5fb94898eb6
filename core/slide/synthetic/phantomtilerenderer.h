// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/synthetic/fieldgrid.h"
#include "slide/synthetic/nucleuspainter.h"
#include "slide/synthetic/smoothrandomfield.h"

#include <opencv2/core/mat.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace icmil::slide {

class TissuePhantom;

// Renders RGB tiles of level 0 of a TissuePhantom: glass background, eosin stroma with collagen
// fibres, purple tumour cytoplasm, then the nuclei. Every pixel depends only on the phantom and its
// level-0 position, never on which thread or in which order tiles are rendered.
// One renderer per thread (it keeps scratch space); the phantom is shared.
class PhantomTileRenderer {
public:
    static constexpr std::uint8_t kBackground = 243; // flat padding beyond the slide

    explicit PhantomTileRenderer(const TissuePhantom &phantom);

    // Renders the size x size tile with top-left (x0, y0) (multiples of 16; size a multiple of 16)
    // into rgb (3 bytes per pixel, `stride` bytes per row). Pixels beyond the slide get kBackground.
    void render(std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb, std::size_t stride);

private:
    enum class BlockKind { Background, Stroma, Tumour, Mixed };

    // The tile before the site's appearance; false when it is glass only. `finalGlass`: glass-only
    // tiles get the site-stained glass (and need nothing more).
    bool renderPlain(std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb, std::size_t stride, bool finalGlass);
    void defocus(std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb, std::size_t stride);

    void paintBlock(BlockKind kind, int blockColumn, int blockRow, std::int64_t x0, std::int64_t y0, std::uint8_t *rgb,
                    std::size_t stride) const;
    void fillBackground(std::int64_t x0, std::int64_t y0, int width, int height, std::uint8_t *rgb, std::size_t stride) const;
    BlockKind classify(int blockColumn, int blockRow) const;

    const TissuePhantom &m_phantom;
    FieldGrid m_grid;
    NucleusPainter m_nuclei;
    int m_margin;
    float m_edgeAmplitude;
    // Fibre texture coordinates: u along the fibres, v across; per pixel u = uBase + x*m_uPerX + y*m_uPerY
    // in tile-local pixels (the bases are reduced modulo the texture size, so floats stay exact).
    float m_uPerX;
    float m_uPerY;
    float m_vPerX;
    float m_vPerY;
    float m_warpAmplitude = 400.0f; // texels across the fibres, from the slow warp field
    float m_uBase = 0.0f;
    float m_vBase = 0.0f;
    SmoothRandomField m_defocus;
    std::vector<float> m_blockAlpha;
    std::vector<std::uint8_t> m_scratch;
    cv::Mat m_blurred;
};

} // namespace icmil::slide
