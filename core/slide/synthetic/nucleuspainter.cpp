// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/nucleuspainter.h"

#include "slide/synthetic/fieldgrid.h"
#include "slide/synthetic/seededrandom.h"
#include "slide/synthetic/tissuephantom.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace icmil::slide {

namespace {

constexpr float kPaper = 245.0f; // the unstained level nucleus colours are measured against

float between(std::uint64_t hash, int part, float low, float high)
{
    return low + (high - low) * SeededRandom::fraction(hash, part);
}

} // namespace

NucleusPainter::NucleusPainter(const TissuePhantom &phantom)
    : m_phantom(phantom), m_seed(SeededRandom::hash(phantom.seed(), 7)),
      m_grainSeed(static_cast<std::uint32_t>(SeededRandom::hash(phantom.seed(), 8))), m_scale(phantom.pixelScale()),
      m_normalPitch(14.0 * m_scale), m_tumourPitch(phantom.model().tumour.pitch * m_scale),
      m_lymphocytePitch(phantom.model().lymphocyte.pitch * m_scale), m_centroblastPitch(phantom.model().centroblast.pitch * m_scale),
      m_reach(10.0 * m_scale + 2.0)
{ }

double NucleusPainter::pitch(Layer layer) const
{
    switch (layer) {
    case Layer::Normal: return m_normalPitch;
    case Layer::Tumour: return m_tumourPitch;
    case Layer::Lymphocyte: return m_lymphocytePitch;
    case Layer::Centroblast: return m_centroblastPitch;
    }
    return m_normalPitch;
}

void NucleusPainter::paint(const FieldGrid &grid, std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb, std::size_t stride) const
{
    if (grid.maximum(FieldGrid::Tissue) > 0.0f)
        paintLayer(Layer::Normal, grid, x0, y0, size, rgb, stride);
    if (grid.maximum(FieldGrid::Tumour) > 0.0f)
        paintLayer(Layer::Tumour, grid, x0, y0, size, rgb, stride);
    if (grid.maximum(FieldGrid::Mimic) > 0.0f) {
        paintLayer(Layer::Lymphocyte, grid, x0, y0, size, rgb, stride);
        if (grid.maximum(FieldGrid::Centre) > 0.0f)
            paintLayer(Layer::Centroblast, grid, x0, y0, size, rgb, stride);
    }
}

void NucleusPainter::paintLayer(Layer layer, const FieldGrid &grid, std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb,
                                std::size_t stride) const
{
    const double pitch = this->pitch(layer);
    const auto first
        = [&](std::int64_t origin) { return static_cast<std::int64_t>(std::floor((static_cast<double>(origin) - m_reach) / pitch)); };
    const auto last = [&](std::int64_t origin) {
        return static_cast<std::int64_t>(std::floor((static_cast<double>(origin + size) + m_reach) / pitch));
    };
    Nucleus nucleus;
    for (std::int64_t row = first(y0); row <= last(y0); ++row)
        for (std::int64_t column = first(x0); column <= last(x0); ++column)
            if (makeNucleus(layer, column, row, grid, x0, y0, size, nucleus))
                splat(nucleus, x0, y0, size, rgb, stride);
}

bool NucleusPainter::makeNucleus(Layer layer, std::int64_t column, std::int64_t row, const FieldGrid &grid, std::int64_t x0,
                                 std::int64_t y0, int size, Nucleus &nucleus) const
{
    // Hash streams per layer: placement, shape, tint.
    static constexpr int kStreams[4][3] = {{1, 3, 5}, {2, 4, 6}, {11, 13, 15}, {21, 23, 25}};
    const int *streams = kStreams[static_cast<int>(layer)];
    const double pitch = this->pitch(layer);
    const std::uint64_t placement = SeededRandom::hash(m_seed, streams[0], column, row);
    const float presence = SeededRandom::fraction(placement, 2);
    if (presence >= 0.9f)
        return false;
    const double centreX = (static_cast<double>(column) + 0.5 + 0.7 * (SeededRandom::fraction(placement, 0) - 0.5)) * pitch;
    const double centreY = (static_cast<double>(row) + 0.5 + 0.7 * (SeededRandom::fraction(placement, 1) - 0.5)) * pitch;
    // Only nuclei that can reach the tile; their centres lie inside the grid's margin.
    if (centreX < static_cast<double>(x0) - m_reach || centreX > static_cast<double>(x0 + size) + m_reach
        || centreY < static_cast<double>(y0) - m_reach || centreY > static_cast<double>(y0 + size) + m_reach)
        return false;
    const FieldGrid::Sample fields = grid.sample(centreX, centreY);
    const std::uint64_t shape = SeededRandom::hash(m_seed, streams[1], column, row);
    const std::uint64_t tint = SeededRandom::hash(m_seed, streams[2], column, row);
    const auto scale = static_cast<float>(m_scale);

    float major = 0.0f;
    float minor = 0.0f;
    float angle = between(shape, 2, 0.0f, static_cast<float>(std::numbers::pi));
    float darkness = SeededRandom::fraction(tint, 0); // 0 = palest of the range, 1 = darkest
    nucleus.lobeInverseRadius2 = 0.0f;
    nucleus.vesicular = false;
    if (layer == Layer::Normal) {
        if (fields.tissue < 3.0f || fields.tumour > 0.0f || fields.mimic > 0.0f)
            return false;
        const bool lining = fields.hole > -9.0f * scale && fields.hole < -1.5f;
        if (presence >= (lining ? 0.9f : 0.35f * (0.6f + 0.8f * fields.stain)))
            return false;
        const float type = SeededRandom::fraction(shape, 0);
        if (lining) { // epithelium lining a lumen
            major = between(shape, 1, 3.2f, 4.2f);
            minor = major * between(shape, 3, 0.7f, 0.85f);
        } else if (type < 0.22f) { // lymphocyte: small, round, dark
            major = between(shape, 1, 2.5f, 3.0f);
            minor = major * between(shape, 3, 0.9f, 1.0f);
            darkness = 1.0f + 0.4f * darkness;
        } else if (type < 0.6f) { // fibroblast: spindle along the collagen
            major = between(shape, 1, 4.0f, 6.0f);
            minor = between(shape, 3, 1.3f, 1.9f);
            angle = static_cast<float>(m_phantom.fibreAngle()) + 0.6f * (SeededRandom::fraction(shape, 2) - 0.5f);
        } else {
            major = between(shape, 1, 2.8f, 4.0f);
            minor = major * between(shape, 3, 0.7f, 1.0f);
        }
        nucleus.red = 120.0f - 30.0f * darkness;
        nucleus.green = 80.0f - 20.0f * darkness;
        nucleus.blue = 170.0f - 30.0f * darkness;
    } else {
        const PresetModel &model = m_phantom.model();
        const NucleusMorphology &m = layer == Layer::Tumour ? model.tumour
            : layer == Layer::Lymphocyte                    ? model.lymphocyte
                                                            : model.centroblast;
        bool here = false;
        if (layer == Layer::Tumour)
            here = fields.tumour > 0.0f && fields.tissue > 0.0f;
        else if (layer == Layer::Lymphocyte) // the aggregate's mantle (outside its germinal centre)
            here = fields.mimic > 0.0f && fields.tissue > 0.0f && fields.tumour <= 0.0f && fields.centre <= 0.0f;
        else
            here = fields.centre > 0.0f && fields.tissue > 0.0f && fields.tumour <= 0.0f;
        if (!here || presence >= m.presence)
            return false;
        major = between(shape, 0, m.majorMin, m.majorMax);
        minor = major * between(shape, 1, m.roundnessMin, m.roundnessMax);
        if (SeededRandom::fraction(shape, 3) < m.lobeProbability) { // irregular outline: a second lobe
            const float lobeAngle = between(tint, 1, 0.0f, 2.0f * static_cast<float>(std::numbers::pi));
            const float lobeRadius = major * between(tint, 2, 0.5f, 0.7f) * scale;
            nucleus.lobeX = 0.45f * major * scale * std::cos(lobeAngle);
            nucleus.lobeY = 0.45f * major * scale * std::sin(lobeAngle);
            nucleus.lobeInverseRadius2 = 1.0f / (lobeRadius * lobeRadius);
        }
        nucleus.vesicular = SeededRandom::fraction(tint, 3) < m.vesicularProbability;
        nucleus.red = m.colour[0] - 25.0f * darkness;
        nucleus.green = m.colour[1] - 20.0f * darkness;
        nucleus.blue = m.colour[2] - 30.0f * darkness;
    }
    major *= scale;
    minor *= scale;
    nucleus.centreX = static_cast<float>(centreX);
    nucleus.centreY = static_cast<float>(centreY);
    nucleus.cosAngle = std::cos(angle);
    nucleus.sinAngle = std::sin(angle);
    nucleus.inverseMajor2 = 1.0f / (major * major);
    nucleus.inverseMinor2 = 1.0f / (minor * minor);
    nucleus.sharpness = 0.7f * std::max(minor, 1.0f);
    nucleus.extent = 1.2f * major + 1.0f; // covers the lobe (offset 0.45 + radius <= 0.75)
    nucleus.opacity = 0.9f + 0.07f * SeededRandom::fraction(tint, 2);
    return true;
}

void NucleusPainter::splat(const Nucleus &nucleus, std::int64_t x0, std::int64_t y0, int size, std::uint8_t *rgb, std::size_t stride) const
{
    const auto left = std::max(x0, static_cast<std::int64_t>(std::floor(nucleus.centreX - nucleus.extent)));
    const auto right = std::min(x0 + size - 1, static_cast<std::int64_t>(std::ceil(nucleus.centreX + nucleus.extent)));
    const auto top = std::max(y0, static_cast<std::int64_t>(std::floor(nucleus.centreY - nucleus.extent)));
    const auto bottom = std::min(y0 + size - 1, static_cast<std::int64_t>(std::ceil(nucleus.centreY + nucleus.extent)));
    const bool lobed = nucleus.lobeInverseRadius2 > 0.0f;
    for (std::int64_t y = top; y <= bottom; ++y) {
        std::uint8_t *pixel = rgb + static_cast<std::size_t>(y - y0) * stride + static_cast<std::size_t>(left - x0) * 3;
        const float dy = static_cast<float>(y) + 0.5f - nucleus.centreY;
        for (std::int64_t x = left; x <= right; ++x, pixel += 3) {
            const float dx = static_cast<float>(x) + 0.5f - nucleus.centreX;
            const float along = dx * nucleus.cosAngle + dy * nucleus.sinAngle;
            const float across = dy * nucleus.cosAngle - dx * nucleus.sinAngle;
            float q = along * along * nucleus.inverseMajor2 + across * across * nucleus.inverseMinor2;
            if (lobed) {
                const float lx = dx - nucleus.lobeX;
                const float ly = dy - nucleus.lobeY;
                q = std::min(q, (lx * lx + ly * ly) * nucleus.lobeInverseRadius2);
            }
            if (q >= 1.0f)
                continue;
            const float alpha = std::min((1.0f - q) * nucleus.sharpness, 1.0f) * nucleus.opacity;
            const std::uint32_t grain = SeededRandom::pixelHash(m_grainSeed, x, y);
            float density = 0.9f + 0.2f * static_cast<float>(grain & 255u) * (1.0f / 255.0f);
            if (nucleus.vesicular)
                density *= q < 0.05f ? 1.25f : 0.72f + 0.4f * q;
            const float red = kPaper - (kPaper - nucleus.red) * density;
            const float green = kPaper - (kPaper - nucleus.green) * density;
            const float blue = kPaper - (kPaper - nucleus.blue) * density;
            pixel[0] = static_cast<std::uint8_t>(std::clamp(pixel[0] + (red - pixel[0]) * alpha + 0.5f, 0.0f, 255.0f));
            pixel[1] = static_cast<std::uint8_t>(std::clamp(pixel[1] + (green - pixel[1]) * alpha + 0.5f, 0.0f, 255.0f));
            pixel[2] = static_cast<std::uint8_t>(std::clamp(pixel[2] + (blue - pixel[2]) * alpha + 0.5f, 0.0f, 255.0f));
        }
    }
}

} // namespace icmil::slide
