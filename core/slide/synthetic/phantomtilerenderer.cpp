// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/phantomtilerenderer.h"

#include "slide/synthetic/seededrandom.h"
#include "slide/synthetic/siteappearance.h"
#include "slide/synthetic/tissuephantom.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <opencv2/imgproc.hpp>

namespace icmil::slide {

namespace {

constexpr int kStep = FieldGrid::kStep;
constexpr float kInvStep = 1.0f / static_cast<float>(kStep);

// Colours as (unstained, fully stained) pairs; a stain density in 0..1 picks a point between them.
// (Span = fully stained minus unstained.)
constexpr float kStromaPaper[3] = {244.0f, 240.0f, 244.0f};
constexpr float kStromaSpan[3] = {216.0f - 244.0f, 118.0f - 240.0f, 172.0f - 244.0f}; // eosin
constexpr float kTumourPaper[3] = {242.0f, 236.0f, 244.0f};
constexpr float kTumourSpan[3] = {198.0f - 242.0f, 126.0f - 236.0f, 190.0f - 244.0f}; // amphophilic cytoplasm

std::uint8_t toByte(float value)
{
    return static_cast<std::uint8_t>(std::clamp(value + 0.5f, 0.0f, 255.0f));
}

// Bilinear interpolation inside one grid block, walked row by row.
struct BlockRamp {
    float corners[4]; // top-left, top-right, bottom-left, bottom-right
    float start = 0.0f;
    float step = 0.0f;
    void beginRow(float ty)
    {
        start = corners[0] + (corners[2] - corners[0]) * ty;
        const float end = corners[1] + (corners[3] - corners[1]) * ty;
        step = (end - start) * kInvStep;
    }
    float at(int x) const { return start + step * static_cast<float>(x); }
};

} // namespace

PhantomTileRenderer::PhantomTileRenderer(const TissuePhantom &phantom)
    : m_phantom(phantom), m_grid(phantom), m_nuclei(phantom), m_margin(kStep * (static_cast<int>(m_nuclei.reach()) / kStep + 1)),
      m_edgeAmplitude(phantom.edgeNoiseAmplitude()), m_defocus(SeededRandom::hash(phantom.seed(), 310), 1800.0 * phantom.pixelScale())
{
    const double along = 1.0 / (6.0 * phantom.pixelScale());  // collagen bundles ~50 um long
    const double across = 1.0 / (0.7 * phantom.pixelScale()); // and a few um wide
    const double angle = phantom.fibreAngle();
    m_uPerX = static_cast<float>(std::cos(angle) * along);
    m_uPerY = static_cast<float>(std::sin(angle) * along);
    m_vPerX = static_cast<float>(-std::sin(angle) * across);
    m_vPerY = static_cast<float>(std::cos(angle) * across);
}

void PhantomTileRenderer::render(std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb, std::size_t stride)
{
    const SiteAppearance &site = m_phantom.site();
    const auto left = static_cast<double>(x0);
    const auto top = static_cast<double>(y0);
    const bool penHere = site.active() && site.penTouches(left, top, left + size, top + size);
    // Pure glass without a pen stroke comes out final; everything else gets the site's stain after.
    const bool tissue = renderPlain(x0, y0, size, rgb, stride, site.active() && !penHere);
    if (tissue && site.blurred())
        defocus(x0, y0, size, rgb, stride);
    if (site.active() && (tissue || penHere))
        site.apply(x0, y0, size, size, rgb, stride);
    // Flat padding beyond the right and bottom edges of the slide.
    const auto insideWidth = static_cast<int>(std::clamp<std::int64_t>(m_phantom.width() - x0, 0, size));
    const auto insideHeight = static_cast<int>(std::clamp<std::int64_t>(m_phantom.height() - y0, 0, size));
    for (int row = 0; row < size; ++row) {
        std::uint8_t *line = rgb + static_cast<std::size_t>(row) * stride;
        if (row >= insideHeight)
            std::memset(line, kBackground, static_cast<std::size_t>(size) * 3);
        else if (insideWidth < size)
            std::memset(line + static_cast<std::size_t>(insideWidth) * 3, kBackground, static_cast<std::size_t>(size - insideWidth) * 3);
    }
}

bool PhantomTileRenderer::renderPlain(std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb, std::size_t stride, bool finalGlass)
{
    m_grid.evaluate(x0, y0, size, m_margin);
    const float pure = m_edgeAmplitude + 1.0f;
    if (m_grid.maximum(FieldGrid::Tissue) <= -pure) {
        if (finalGlass) { // the site's stain is already in this glass
            for (int y = 0; y < size; ++y)
                std::memcpy(rgb + static_cast<std::size_t>(y) * stride, m_phantom.siteGlassRow(m_phantom.grainRowOffset(y0 + y), x0),
                            static_cast<std::size_t>(size) * 3);
            return false;
        }
        fillBackground(x0, y0, size, size, rgb, stride);
        return false;
    }
    {
        // Texture coordinates of the tile origin, reduced modulo the texture, plus an offset that
        // keeps every coordinate in the tile positive.
        // The texture's long x axis runs across the fibres (v), its short y axis along them (u):
        // a tile then reads a few hundred contiguous texels from each of a few dozen rows.
        const double textureAcross = m_phantom.fibreTexture().width();
        const double textureAlong = m_phantom.fibreTexture().height();
        const double span
            = static_cast<double>(size) * 2.0 * std::max(std::abs(m_uPerX) + std::abs(m_uPerY), std::abs(m_vPerX) + std::abs(m_vPerY));
        const auto x = static_cast<double>(x0);
        const auto y = static_cast<double>(y0);
        m_uBase
            = static_cast<float>(std::fmod(x * m_uPerX + y * m_uPerY, textureAlong) + textureAlong * std::ceil(span / textureAlong + 1.0));
        m_vBase = static_cast<float>(std::fmod(x * m_vPerX + y * m_vPerY, textureAcross)
                                     + textureAcross * std::ceil(span / textureAcross + 1.0));
        const int blocks = size / kStep;
        for (int row = 0; row < blocks; ++row)
            for (int column = 0; column < blocks; ++column)
                paintBlock(classify(column, row), column, row, x0, y0, rgb, stride);
        m_nuclei.paint(m_grid, x0, y0, size, rgb, stride);
    }
    return true;
}

void PhantomTileRenderer::defocus(std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb, std::size_t stride)
{
    // Out-of-focus regions where a slow random field passes the slide's threshold: the sharp tile
    // blended with a Gaussian blur of the tile rendered with a margin (so no seams), per 16 x 16
    // block (the field changes by a few percent across one).
    const SiteAppearance &site = m_phantom.site();
    const int blocks = size / kStep;
    m_defocus.prepare(static_cast<double>(x0), static_cast<double>(y0), static_cast<double>(x0 + size), static_cast<double>(y0 + size));
    m_blockAlpha.assign(static_cast<std::size_t>(blocks) * blocks, 0.0f);
    float strongest = 0.0f;
    for (int row = 0; row < blocks; ++row)
        for (int column = 0; column < blocks; ++column) {
            const float field
                = m_defocus.at(static_cast<double>(x0 + column * kStep + kStep / 2), static_cast<double>(y0 + row * kStep + kStep / 2));
            const float alpha = std::clamp((field - static_cast<float>(site.blurThreshold())) * 6.0f, 0.0f, 1.0f);
            m_blockAlpha[static_cast<std::size_t>(row * blocks + column)] = alpha;
            strongest = std::max(strongest, alpha);
        }
    if (strongest <= 0.0f)
        return;
    const int margin = kStep * static_cast<int>(std::ceil(3.0 * site.blurSigma() / kStep));
    const int padded = size + 2 * margin;
    m_scratch.resize(static_cast<std::size_t>(padded) * padded * 3);
    renderPlain(x0 - margin, y0 - margin, padded, m_scratch.data(), static_cast<std::size_t>(padded) * 3, false);
    const cv::Mat sharp(padded, padded, CV_8UC3, m_scratch.data());
    cv::GaussianBlur(sharp, m_blurred, cv::Size(0, 0), site.blurSigma(), site.blurSigma(), cv::BORDER_REPLICATE);
    for (int y = 0; y < size; ++y) {
        std::uint8_t *pixel = rgb + static_cast<std::size_t>(y) * stride;
        const std::uint8_t *soft = m_blurred.ptr<std::uint8_t>(y + margin) + static_cast<std::size_t>(margin) * 3;
        const float *alphas = &m_blockAlpha[static_cast<std::size_t>((y / kStep) * blocks)];
        for (int x = 0; x < size; ++x, pixel += 3, soft += 3) {
            const float alpha = alphas[x / kStep];
            if (alpha <= 0.0f)
                continue;
            for (int c = 0; c < 3; ++c)
                pixel[c] = toByte(static_cast<float>(pixel[c]) + (static_cast<float>(soft[c]) - static_cast<float>(pixel[c])) * alpha);
        }
    }
}

PhantomTileRenderer::BlockKind PhantomTileRenderer::classify(int column, int row) const
{
    const float pure = m_edgeAmplitude + 1.0f;
    float tissueLow = 1e30f, tissueHigh = -1e30f, tumourLow = 1e30f, tumourHigh = -1e30f;
    for (int dy = 0; dy <= 1; ++dy)
        for (int dx = 0; dx <= 1; ++dx) {
            const float tissue = m_grid.node(FieldGrid::Tissue, column + dx, row + dy);
            const float tumour
                = std::max(m_grid.node(FieldGrid::Tumour, column + dx, row + dy), m_grid.node(FieldGrid::Mimic, column + dx, row + dy));
            tissueLow = std::min(tissueLow, tissue);
            tissueHigh = std::max(tissueHigh, tissue);
            tumourLow = std::min(tumourLow, tumour);
            tumourHigh = std::max(tumourHigh, tumour);
        }
    if (tissueHigh <= -pure)
        return BlockKind::Background;
    if (tissueLow >= pure && tumourHigh <= -pure)
        return BlockKind::Stroma;
    if (tissueLow >= pure && tumourLow >= pure)
        return BlockKind::Tumour;
    return BlockKind::Mixed;
}

void PhantomTileRenderer::fillBackground(std::int64_t x0, std::int64_t y0, int width, int height, std::uint8_t *rgb,
                                         std::size_t stride) const
{
    for (int y = 0; y < height; ++y)
        std::memcpy(rgb + static_cast<std::size_t>(y) * stride, m_phantom.glassRow(m_phantom.grainRowOffset(y0 + y), x0),
                    static_cast<std::size_t>(width) * 3);
}

void PhantomTileRenderer::paintBlock(BlockKind kind, int column, int row, std::int64_t x0, std::int64_t y0, std::uint8_t *rgb,
                                     std::size_t stride) const
{
    const int localX = column * kStep;
    const int localY = row * kStep;
    std::uint8_t *block = rgb + static_cast<std::size_t>(localY) * stride + static_cast<std::size_t>(localX) * 3;
    if (kind == BlockKind::Background) {
        fillBackground(x0 + localX, y0 + localY, kStep, kStep, block, stride);
        return;
    }
    auto ramp = [&](FieldGrid::Channel channel) {
        return BlockRamp{{m_grid.node(channel, column, row), m_grid.node(channel, column + 1, row), m_grid.node(channel, column, row + 1),
                          m_grid.node(channel, column + 1, row + 1)}};
    };
    BlockRamp tissue = ramp(FieldGrid::Tissue);
    // Tumour and its mimics (lymphoid aggregates) share the purple, cell-rich background.
    BlockRamp tumour = ramp(FieldGrid::Tumour);
    for (int corner = 0; corner < 4; ++corner)
        tumour.corners[corner]
            = std::max(tumour.corners[corner], m_grid.node(FieldGrid::Mimic, column + (corner & 1), row + (corner >> 1)));
    BlockRamp warp = ramp(FieldGrid::Warp);
    BlockRamp stain = ramp(FieldGrid::Stain);
    const NoiseTexture &fibres = m_phantom.fibreTexture();
    const NoiseTexture &edges = m_phantom.edgeTexture();

    for (int y = 0; y < kStep; ++y) {
        const float ty = static_cast<float>(y) * kInvStep;
        tissue.beginRow(ty);
        tumour.beginRow(ty);
        warp.beginRow(ty);
        stain.beginRow(ty);
        const std::int64_t py = y0 + localY + y;
        const std::uint32_t grainOffset = m_phantom.grainRowOffset(py);
        const float rowU = m_uBase + static_cast<float>(localY + y) * m_uPerY;
        const float rowV = m_vBase + static_cast<float>(localY + y) * m_vPerY;
        std::uint8_t *pixel = block + static_cast<std::size_t>(y) * stride;

        // Stroma: eosin collagen bundles. Density in 0.1..1 picks between paper and eosin.
        auto stromaDensity = [&](int x) {
            const auto lx = static_cast<float>(localX + x);
            const float u = rowU + lx * m_uPerX;
            const float v = rowV + lx * m_vPerX + m_warpAmplitude * warp.at(x);
            const float fibre = fibres.samplePositive(v, u);
            return std::clamp((0.8f + 0.4f * stain.at(x)) * (0.62f + 0.9f * (fibre - 0.5f)), 0.1f, 1.0f);
        };
        // Tumour: mottled, more purple cytoplasm.
        auto tumourDensity = [&](int x) {
            const std::int64_t px = x0 + localX + x;
            const float mottle = edges.at((px >> 1) + 37, (py >> 1) + 211);
            return (0.8f + 0.4f * stain.at(x)) * (0.6f + 0.35f * (mottle - 0.5f));
        };

        if (kind == BlockKind::Stroma) {
            // Values stay well inside 0..255 here, so no clamping.
            for (int x = 0; x < kStep; ++x, pixel += 3) {
                const float density = stromaDensity(x);
                const auto grain = static_cast<float>(m_phantom.grain(grainOffset, x0 + localX + x)) + 0.5f;
                pixel[0] = static_cast<std::uint8_t>(kStromaPaper[0] + kStromaSpan[0] * density + grain);
                pixel[1] = static_cast<std::uint8_t>(kStromaPaper[1] + kStromaSpan[1] * density + grain);
                pixel[2] = static_cast<std::uint8_t>(kStromaPaper[2] + kStromaSpan[2] * density + grain);
            }
            continue;
        }
        if (kind == BlockKind::Tumour) {
            for (int x = 0; x < kStep; ++x, pixel += 3) {
                const float density = tumourDensity(x);
                const auto grain = static_cast<float>(m_phantom.grain(grainOffset, x0 + localX + x));
                pixel[0] = toByte(kTumourPaper[0] + kTumourSpan[0] * density + grain);
                pixel[1] = toByte(kTumourPaper[1] + kTumourSpan[1] * density + grain);
                pixel[2] = toByte(kTumourPaper[2] + kTumourSpan[2] * density + grain);
            }
            continue;
        }
        for (int x = 0; x < kStep; ++x, pixel += 3) { // mixed: outlines of tissue, holes and tumours
            const std::int64_t px = x0 + localX + x;
            const auto grain = static_cast<float>(m_phantom.grain(grainOffset, px));
            // Outline noise at ~3-6 px grain (texture coordinates kept positive).
            const auto ex = static_cast<float>(px & 0xFFFF) * 0.5f;
            const auto ey = static_cast<float>(py & 0xFFFF) * 0.5f;
            const float edge = (edges.samplePositive(ex, ey) - 0.5f) * 2.0f * m_edgeAmplitude;
            const float edge2 = (edges.samplePositive(ex + 101.0f, ey + 57.0f) - 0.5f) * 2.0f * m_edgeAmplitude;
            const float tissueAlpha = std::clamp((tissue.at(x) + edge) * 0.6f + 0.5f, 0.0f, 1.0f);
            const float tumourAlpha = std::clamp((tumour.at(x) + edge2) * 0.6f + 0.5f, 0.0f, 1.0f);
            float colour[3] = {0.0f, 0.0f, 0.0f};
            if (tumourAlpha < 1.0f && tissueAlpha > 0.0f) {
                const float density = stromaDensity(x);
                for (int c = 0; c < 3; ++c)
                    colour[c] += (1.0f - tumourAlpha) * (kStromaPaper[c] + kStromaSpan[c] * density);
            }
            if (tumourAlpha > 0.0f && tissueAlpha > 0.0f) {
                const float density = tumourDensity(x);
                for (int c = 0; c < 3; ++c)
                    colour[c] += tumourAlpha * (kTumourPaper[c] + kTumourSpan[c] * density);
            }
            for (int c = 0; c < 3; ++c) {
                const float glass = static_cast<float>(TissuePhantom::kGlass[c]);
                pixel[c] = toByte(colour[c] * tissueAlpha + glass * (1.0f - tissueAlpha) + grain);
            }
        }
    }
}

} // namespace icmil::slide
