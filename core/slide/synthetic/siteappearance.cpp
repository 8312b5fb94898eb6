// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/siteappearance.h"

#include "slide/synthetic/seededrandom.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace icmil::slide {

namespace {

constexpr float kDensitySteps = 1024.0f; // intensity table entries per OD unit
constexpr float kMaxDensity = 6.0f;
constexpr double kEdge = 6.0; // soft edge of folds and pen strokes, level-0 pixels

using Vector = std::array<double, 3>;

Vector normalised(Vector v)
{
    for (double &c : v)
        c = std::max(c, 0.01);
    const double length = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    return {v[0] / length, v[1] / length, v[2] / length};
}

Vector turned(const Vector &v, SeededRandom &random, double amount)
{
    return normalised(
        {v[0] + random.uniform(-amount, amount), v[1] + random.uniform(-amount, amount), v[2] + random.uniform(-amount, amount)});
}

// Columns a, b, c -> the 3 x 3 matrix (row-major) and its inverse.
void columns(const Vector &a, const Vector &b, const Vector &c, double m[9])
{
    for (int row = 0; row < 3; ++row) {
        m[row * 3 + 0] = a[static_cast<std::size_t>(row)];
        m[row * 3 + 1] = b[static_cast<std::size_t>(row)];
        m[row * 3 + 2] = c[static_cast<std::size_t>(row)];
    }
}

void invert(const double m[9], double out[9])
{
    const double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
    out[0] = (m[4] * m[8] - m[5] * m[7]) / det;
    out[1] = (m[2] * m[7] - m[1] * m[8]) / det;
    out[2] = (m[1] * m[5] - m[2] * m[4]) / det;
    out[3] = (m[5] * m[6] - m[3] * m[8]) / det;
    out[4] = (m[0] * m[8] - m[2] * m[6]) / det;
    out[5] = (m[2] * m[3] - m[0] * m[5]) / det;
    out[6] = (m[3] * m[7] - m[4] * m[6]) / det;
    out[7] = (m[1] * m[6] - m[0] * m[7]) / det;
    out[8] = (m[0] * m[4] - m[1] * m[3]) / det;
}

double segmentDistance(double px, double py, double ax, double ay, double bx, double by)
{
    const double dx = bx - ax;
    const double dy = by - ay;
    const double length2 = dx * dx + dy * dy;
    const double t = length2 > 0.0 ? std::clamp(((px - ax) * dx + (py - ay) * dy) / length2, 0.0, 1.0) : 0.0;
    return std::hypot(px - ax - t * dx, py - ay - t * dy);
}

} // namespace

SiteAppearance::SiteAppearance(const PresetModel &model, std::uint64_t seed, const std::vector<PolarBlob> &tissue, double pixelScale)
{
    if (!model.siteVariation)
        return;
    m_active = true;
    SeededRandom slide(SeededRandom::hash(seed, 301));
    m_centre = slide.index(std::max(1, model.centres));
    // The centre's stain, the same for every slide of that centre in every dataset.
    SeededRandom centre(SeededRandom::hash(0xCE27E5ull, m_centre));
    const Vector haematoxylin = normalised({0.650, 0.704, 0.286}); // Ruifrok and Johnston's H&E vectors
    const Vector eosin = normalised({0.072, 0.990, 0.105});
    const Vector residual
        = normalised({haematoxylin[1] * eosin[2] - haematoxylin[2] * eosin[1], haematoxylin[2] * eosin[0] - haematoxylin[0] * eosin[2],
                      haematoxylin[0] * eosin[1] - haematoxylin[1] * eosin[0]});
    Vector h = turned(haematoxylin, centre, model.stainAngle);
    Vector e = turned(eosin, centre, model.stainAngle);
    double hScale = 1.0 + centre.uniform(-model.stainScale, model.stainScale);
    double eScale = 1.0 + centre.uniform(-model.stainScale, model.stainScale);
    const double base = centre.uniform(-0.01, 0.07);
    for (float &b : m_background)
        b = static_cast<float>(base + centre.uniform(-0.015, 0.015));
    // This slide's own drift from its centre.
    h = turned(h, slide, 0.5 * model.slideJitter);
    e = turned(e, slide, 0.5 * model.slideJitter);
    hScale *= 1.0 + slide.uniform(-model.slideJitter, model.slideJitter);
    eScale *= 1.0 + slide.uniform(-model.slideJitter, model.slideJitter);
    for (float &b : m_background)
        b += static_cast<float>(slide.uniform(-0.01, 0.01));

    double reference[9], inverse[9], target[9];
    columns(haematoxylin, eosin, residual, reference);
    invert(reference, inverse);
    columns({h[0] * hScale, h[1] * hScale, h[2] * hScale}, {e[0] * eScale, e[1] * eScale, e[2] * eScale}, residual, target);
    for (int row = 0; row < 3; ++row)
        for (int column = 0; column < 3; ++column) {
            double sum = 0.0;
            for (int k = 0; k < 3; ++k)
                sum += target[row * 3 + k] * inverse[k * 3 + column];
            m_matrix[row * 3 + column] = static_cast<float>(sum);
        }

    if (slide.uniform() < model.blurProbability) {
        m_blurSigma = slide.uniform(1.2, 2.6) * pixelScale;
        m_blurThreshold = slide.uniform(0.5, 0.62);
    }
    if (!tissue.empty() && slide.uniform() < model.penProbability) {
        const int strokes = 1 + slide.index(2);
        for (int s = 0; s < strokes; ++s) {
            const PolarBlob &blob = tissue[static_cast<std::size_t>(slide.index(static_cast<int>(tissue.size())))];
            Pen pen;
            const double radius = blob.maxRadius() * slide.uniform(1.03, 1.2);
            const double start = slide.uniform(0.0, 2.0 * std::numbers::pi);
            const double span = slide.uniform(0.8, 2.4);
            const double wobble = slide.uniform(0.0, 0.05);
            const double phase = slide.uniform(0.0, 2.0 * std::numbers::pi);
            constexpr int kSegments = 24;
            auto point = [&](int i) {
                const double angle = start + span * i / kSegments;
                const double r = radius * (1.0 + wobble * std::sin(3.0 * angle + phase));
                return std::pair{blob.centreX() + r * std::cos(angle), blob.centreY() + r * std::sin(angle)};
            };
            for (int i = 0; i < kSegments; ++i) {
                const auto [ax, ay] = point(i);
                const auto [bx, by] = point(i + 1);
                pen.segments.push_back({ax, ay, bx, by});
            }
            pen.halfWidth = slide.uniform(50.0, 140.0) * pixelScale;
            pen.minX = pen.minY = 1e300;
            pen.maxX = pen.maxY = -1e300;
            for (const Segment &segment : pen.segments) {
                pen.minX = std::min({pen.minX, segment.ax, segment.bx});
                pen.minY = std::min({pen.minY, segment.ay, segment.by});
                pen.maxX = std::max({pen.maxX, segment.ax, segment.bx});
                pen.maxY = std::max({pen.maxY, segment.ay, segment.by});
            }
            const double reach = pen.halfWidth + kEdge;
            pen.minX -= reach;
            pen.minY -= reach;
            pen.maxX += reach;
            pen.maxY += reach;
            static constexpr std::array<std::array<float, 3>, 3> kInks{{{0.95f, 0.5f, 0.12f}, {0.85f, 0.22f, 0.75f}, {0.9f, 0.85f, 0.8f}}};
            const float strength = static_cast<float>(slide.uniform(0.5, 1.0));
            for (int c = 0; c < 3; ++c)
                pen.ink[static_cast<std::size_t>(c)]
                    = kInks[static_cast<std::size_t>(slide.index(3))][static_cast<std::size_t>(c)] * strength;
            m_pens.push_back(std::move(pen));
        }
    }
    if (!tissue.empty() && slide.uniform() < model.foldProbability) {
        const PolarBlob &blob = tissue[static_cast<std::size_t>(slide.index(static_cast<int>(tissue.size())))];
        const double angle = slide.uniform(0.0, std::numbers::pi);
        const double offset = slide.uniform(-0.4, 0.4) * blob.baseRadius();
        const double cx = blob.centreX() - offset * std::sin(angle);
        const double cy = blob.centreY() + offset * std::cos(angle);
        const double half = blob.baseRadius();
        Fold fold;
        fold.axis = {cx - half * std::cos(angle), cy - half * std::sin(angle), cx + half * std::cos(angle), cy + half * std::sin(angle)};
        fold.halfWidth = slide.uniform(40.0, 130.0) * pixelScale;
        fold.factor = static_cast<float>(slide.uniform(1.6, 2.0));
        m_folds.push_back(fold);
    }

    for (int v = 0; v < 256; ++v)
        m_density[static_cast<std::size_t>(v)] = -std::log((static_cast<float>(v) + 0.5f) / 255.5f);
    m_intensity.resize(static_cast<std::size_t>(kMaxDensity * kDensitySteps) + 1);
    for (std::size_t i = 0; i < m_intensity.size(); ++i) {
        const double value = 255.5 * std::exp(-static_cast<double>(i) / kDensitySteps) - 0.5;
        m_intensity[i] = static_cast<std::uint8_t>(std::clamp(std::lround(value), 0L, 255L));
    }
}

std::uint8_t SiteAppearance::fromDensity(float od) const
{
    const float index = std::clamp(od, 0.0f, kMaxDensity) * kDensitySteps + 0.5f;
    return m_intensity[static_cast<std::size_t>(index)];
}

bool SiteAppearance::penTouches(double left, double top, double right, double bottom) const
{
    return std::any_of(m_pens.begin(), m_pens.end(),
                       [&](const Pen &pen) { return !(pen.maxX < left || pen.minX > right || pen.maxY < top || pen.minY > bottom); });
}

void SiteAppearance::applyStain(std::uint8_t *pixel) const
{
    if (!m_active)
        return;
    float od[3];
    for (int c = 0; c < 3; ++c)
        od[c] = m_density[pixel[c]];
    for (int row = 0; row < 3; ++row)
        pixel[row]
            = fromDensity(m_matrix[row * 3] * od[0] + m_matrix[row * 3 + 1] * od[1] + m_matrix[row * 3 + 2] * od[2] + m_background[row]);
}

void SiteAppearance::apply(std::int64_t x0, std::int64_t y0, int width, int height, std::uint8_t *rgb, std::size_t stride) const
{
    if (!m_active)
        return;
    const auto left = static_cast<double>(x0);
    const auto top = static_cast<double>(y0);
    const double right = left + width;
    const double bottom = top + height;
    // Per pen, only the segments that can reach this rectangle.
    struct NearPen {
        const Pen *pen;
        std::vector<Segment> segments;
    };
    std::vector<NearPen> pens;
    for (const Pen &pen : m_pens) {
        if (pen.maxX < left || pen.minX > right || pen.maxY < top || pen.minY > bottom)
            continue;
        const double reach = pen.halfWidth + kEdge;
        NearPen near{&pen, {}};
        for (const Segment &s : pen.segments)
            if (std::max(s.ax, s.bx) + reach >= left && std::min(s.ax, s.bx) - reach <= right && std::max(s.ay, s.by) + reach >= top
                && std::min(s.ay, s.by) - reach <= bottom)
                near.segments.push_back(s);
        if (!near.segments.empty())
            pens.push_back(std::move(near));
    }
    std::vector<const Fold *> folds;
    for (const Fold &fold : m_folds) {
        const double cx = 0.5 * (left + right);
        const double cy = 0.5 * (top + bottom);
        const double reach = fold.halfWidth + kEdge + std::hypot(right - left, bottom - top);
        if (segmentDistance(cx, cy, fold.axis.ax, fold.axis.ay, fold.axis.bx, fold.axis.by) < reach)
            folds.push_back(&fold);
    }
    for (int y = 0; y < height; ++y) {
        std::uint8_t *pixel = rgb + static_cast<std::size_t>(y) * stride;
        const double py = top + y + 0.5;
        for (int x = 0; x < width; ++x, pixel += 3) {
            float od[3] = {m_density[pixel[0]], m_density[pixel[1]], m_density[pixel[2]]};
            if (!folds.empty() || !pens.empty()) {
                const double px = left + x + 0.5;
                for (const Fold *fold : folds) {
                    if (od[0] + od[1] + od[2] < 0.3f)
                        break; // glass: nothing to double
                    const double d = segmentDistance(px, py, fold->axis.ax, fold->axis.ay, fold->axis.bx, fold->axis.by);
                    const auto w = static_cast<float>(std::clamp((fold->halfWidth - d) / kEdge, 0.0, 1.0));
                    for (float &c : od)
                        c *= 1.0f + (fold->factor - 1.0f) * w;
                }
                for (const NearPen &near : pens) {
                    double d = 1e300;
                    for (const Segment &s : near.segments)
                        d = std::min(d, segmentDistance(px, py, s.ax, s.ay, s.bx, s.by));
                    const auto w = static_cast<float>(std::clamp((near.pen->halfWidth - d) / kEdge, 0.0, 1.0));
                    for (int c = 0; c < 3; ++c)
                        od[c] += near.pen->ink[static_cast<std::size_t>(c)] * w;
                }
            }
            for (int row = 0; row < 3; ++row)
                pixel[row] = fromDensity(m_matrix[row * 3] * od[0] + m_matrix[row * 3 + 1] * od[1] + m_matrix[row * 3 + 2] * od[2]
                                         + m_background[row]);
        }
    }
}

} // namespace icmil::slide
