// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/tissuephantom.h"

#include "slide/synthetic/seededrandom.h"
#include "slide/synthetic/syntheticslidewriter.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace icmil::slide {

namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;

// Harmonics of orders [firstOrder, lastOrder] with amplitudes uniform in [0, maxAmplitude] / order^decay.
void addHarmonics(std::vector<BlobHarmonic> &harmonics, SeededRandom &random, int firstOrder, int lastOrder, double minAmplitude,
                  double maxAmplitude, double decay)
{
    for (int order = firstOrder; order <= lastOrder; ++order) {
        const double falloff = std::pow(static_cast<double>(order - firstOrder + 1), decay);
        const double amplitude = random.uniform(minAmplitude, maxAmplitude) / falloff;
        harmonics.push_back({order, amplitude, random.uniform(0.0, kTwoPi)});
    }
}

double distanceToRectangle(double x, double y, double left, double top, double right, double bottom)
{
    const double dx = std::max({left - x, 0.0, x - right});
    const double dy = std::max({top - y, 0.0, y - bottom});
    return std::sqrt(dx * dx + dy * dy);
}

double farthestCornerDistance(double x, double y, double left, double top, double right, double bottom)
{
    const double dx = std::max(std::abs(left - x), std::abs(right - x));
    const double dy = std::max(std::abs(top - y), std::abs(bottom - y));
    return std::sqrt(dx * dx + dy * dy);
}

float clampField(double value)
{
    return static_cast<float>(
        std::clamp(value, -static_cast<double>(TissuePhantom::kFieldLimit), static_cast<double>(TissuePhantom::kFieldLimit)));
}

} // namespace

TissuePhantom::TissuePhantom(const SyntheticSlideConfig &config)
    : m_width(config.width), m_height(config.height), m_seed(config.seed), m_pixelScale(std::clamp(0.5 / config.mpp, 0.125, 8.0)),
      m_edgeNoiseAmplitude(static_cast<float>(std::clamp(4.0 * m_pixelScale, 2.0, 16.0))), m_model(&presetModel(config.preset)),
      m_fibreTexture(SeededRandom::hash(config.seed, 101), 4096, 256, 16), m_edgeTexture(SeededRandom::hash(config.seed, 102), 256, 256, 4)
{
    SeededRandom grain(SeededRandom::hash(m_seed, 105));
    m_grain.resize(kGrainTableSize);
    for (std::int8_t &value : m_grain) {
        const std::uint64_t bits = grain.next();
        value = static_cast<std::int8_t>((bits & 1u) + ((bits >> 1) & 1u) + ((bits >> 2) & 1u) + ((bits >> 3) & 1u));
        value = static_cast<std::int8_t>(value - 2);
    }
    m_glass.resize(static_cast<std::size_t>(kGrainTableSize + kGlassRun) * 3);
    for (std::uint32_t i = 0; i < kGrainTableSize + kGlassRun; ++i)
        for (int channel = 0; channel < 3; ++channel)
            m_glass[static_cast<std::size_t>(i) * 3 + static_cast<std::size_t>(channel)]
                = static_cast<std::uint8_t>(kGlass[channel] + m_grain[i & (kGrainTableSize - 1)]);
    m_fibreAngle = SeededRandom(SeededRandom::hash(m_seed, 104)).uniform(0.0, std::numbers::pi);
    placeTissue(SeededRandom::hash(m_seed, 1));
    placeHoles(SeededRandom::hash(m_seed, 2));
    if (config.positive) {
        if (m_model->heavyTailed)
            placeHeavyTailedTumours(SeededRandom::hash(m_seed, 3));
        else
            placeTumours(SeededRandom::hash(m_seed, 3));
    }
    if (m_model->aggregatesMax > 0)
        placeMimics(SeededRandom::hash(m_seed, 4));
    m_site = std::make_unique<SiteAppearance>(*m_model, m_seed, m_tissueBlobs, m_pixelScale);
    m_siteGlass = m_glass;
    for (std::size_t i = 0; i + 2 < m_siteGlass.size(); i += 3)
        m_site->applyStain(&m_siteGlass[i]);
}

std::uint32_t TissuePhantom::grainRowOffset(std::int64_t y) const
{
    return static_cast<std::uint32_t>(SeededRandom::hash(m_seed, 106, y));
}

void TissuePhantom::placeTissue(std::uint64_t seed)
{
    SeededRandom random(seed);
    const double width = static_cast<double>(m_width);
    const double height = static_cast<double>(m_height);
    const double shortSide = std::min(width, height);
    const int count = 1 + random.index(3);
    const double targetFraction = random.uniform(0.30, 0.45);
    const double baseRadius = std::sqrt(targetFraction * width * height / (std::numbers::pi * count));
    const double margin = 0.02 * shortSide + 2.0 * m_edgeNoiseAmplitude;

    for (int b = 0; b < count; ++b) {
        std::vector<BlobHarmonic> harmonics;
        addHarmonics(harmonics, random, 2, 5, 0.03, 0.22, 0.8);
        addHarmonics(harmonics, random, 6, 16, 0.0, 0.03, 1.0);
        addHarmonics(harmonics, random, 17, 48, 0.0, 0.012, 1.0);
        const PolarBlob shape(0.0, 0.0, baseRadius * random.uniform(0.85, 1.15), harmonics, 0.35);
        // Fit the blob into the slide; shrink it until a place is found (deterministically).
        double factor = std::min(1.0, (shortSide / 2.0 - margin) / shape.maxRadius());
        for (bool placed = false; !placed && factor > 0.1; factor *= 0.92) {
            const double reach = shape.maxRadius() * factor;
            const double spanX = width - 2.0 * (margin + reach);
            const double spanY = height - 2.0 * (margin + reach);
            for (int attempt = 0; attempt < 80 && !placed && spanX >= 0.0 && spanY >= 0.0; ++attempt) {
                const double x = margin + reach + random.uniform() * spanX;
                const double y = margin + reach + random.uniform() * spanY;
                placed = std::all_of(m_tissueBlobs.begin(), m_tissueBlobs.end(), [&](const PolarBlob &other) {
                    return std::hypot(other.centreX() - x, other.centreY() - y) >= 0.8 * (other.maxRadius() + reach);
                });
                if (placed)
                    m_tissueBlobs.push_back(shape.movedAndScaled(x, y, factor));
            }
        }
    }
}

void TissuePhantom::placeHoles(std::uint64_t seed)
{
    SeededRandom random(seed);
    for (const PolarBlob &blob : m_tissueBlobs) {
        // A few lumens scaled to the section, plus (on large sections) small ducts and fat vacuoles.
        const int lumens = 2 + random.index(6);
        const int vacuoles = static_cast<int>(std::min(60.0, blob.baseRadius() / (1500.0 * m_pixelScale)));
        for (int h = 0; h < lumens + vacuoles; ++h) {
            double radius = random.uniform(40.0, 250.0) * m_pixelScale;
            if (h < lumens) {
                const bool large = random.uniform() < 0.3;
                radius = blob.baseRadius() * (large ? random.uniform(0.05, 0.09) : random.uniform(0.015, 0.05));
            }
            radius = std::max(12.0 * m_pixelScale, radius);
            std::vector<BlobHarmonic> harmonics;
            addHarmonics(harmonics, random, 2, 4, 0.0, 0.14, 0.5);
            addHarmonics(harmonics, random, 5, 9, 0.0, 0.03, 0.0);
            const PolarBlob shape(0.0, 0.0, radius, harmonics, 0.5);
            for (int attempt = 0; attempt < 20; ++attempt) {
                const double angle = random.uniform(0.0, kTwoPi);
                const double outline = blob.radiusAt(angle);
                const double distance = std::sqrt(random.uniform()) * 0.7 * outline;
                if (distance + 1.3 * shape.maxRadius() < 0.85 * outline) {
                    m_holes.push_back(shape.movedAndScaled(blob.centreX() + distance * std::cos(angle),
                                                           blob.centreY() + distance * std::sin(angle), 1.0));
                    break;
                }
            }
        }
    }
}

bool TissuePhantom::insideTissue(const PolarBlob &blob, double margin) const
{
    for (const auto &[x, y] : blob.outline(64)) {
        double inside = -1.0;
        for (const PolarBlob &tissue : m_tissueBlobs)
            inside = std::max(inside, tissue.field(x, y));
        if (inside < margin)
            return false;
    }
    return true;
}

bool TissuePhantom::tumourFits(const PolarBlob &tumour) const
{
    const double margin = 0.1 * tumour.baseRadius() + 24.0 * m_pixelScale + 2.0 * m_edgeNoiseAmplitude;
    for (const PolarBlob &other : m_tumours) {
        const double gap = std::hypot(other.centreX() - tumour.centreX(), other.centreY() - tumour.centreY());
        if (gap < other.maxRadius() + tumour.maxRadius() + 40.0 * m_pixelScale)
            return false;
    }
    return insideTissue(tumour, margin);
}

void TissuePhantom::placeTumours(std::uint64_t seed)
{
    SeededRandom random(seed);
    const double shortSide = static_cast<double>(std::min(m_width, m_height));
    const int count = 1 + random.index(4);
    // The first is always small (a few 256-px patches across); the others span up to 10% of the
    // short side, log-uniformly.
    std::vector<double> radii{random.uniform(150.0, 300.0) * m_pixelScale};
    const double smallest = 300.0 * m_pixelScale;
    const double largest = std::max(0.10 * shortSide, smallest);
    for (int t = 1; t < count; ++t)
        radii.push_back(std::exp(random.uniform(std::log(smallest), std::log(largest))));

    for (std::size_t t = 0; t < radii.size(); ++t) {
        std::vector<BlobHarmonic> harmonics;
        addHarmonics(harmonics, random, 2, 6, 0.04, 0.16, 0.5);
        addHarmonics(harmonics, random, 7, 20, 0.0, 0.06, 0.8);
        addHarmonics(harmonics, random, 21, 40, 0.0, 0.015, 1.0);
        // The mandatory small tumour may shrink a lot to fit a tiny slide; the others give up sooner.
        placeTumour(PolarBlob(0.0, 0.0, radii[t], harmonics, 0.3), t == 0 ? 30 : 4, random);
    }
}

std::pair<double, double> TissuePhantom::randomPointInTissue(SeededRandom &random) const
{
    // A tissue piece chosen by area, then a point within 85% of its outline.
    double totalWeight = 0.0;
    for (const PolarBlob &blob : m_tissueBlobs)
        totalWeight += blob.baseRadius() * blob.baseRadius();
    double pick = random.uniform() * totalWeight;
    const PolarBlob *blob = &m_tissueBlobs.back();
    for (const PolarBlob &candidate : m_tissueBlobs) {
        pick -= candidate.baseRadius() * candidate.baseRadius();
        if (pick < 0.0) {
            blob = &candidate;
            break;
        }
    }
    const double angle = random.uniform(0.0, kTwoPi);
    const double distance = std::sqrt(random.uniform()) * 0.85 * blob->radiusAt(angle);
    return {blob->centreX() + distance * std::cos(angle), blob->centreY() + distance * std::sin(angle)};
}

bool TissuePhantom::placeTumour(const PolarBlob &shape, int shrinkSteps, SeededRandom &random)
{
    double factor = 1.0;
    for (int step = 0; step < shrinkSteps; ++step, factor *= 0.85) {
        if (shape.baseRadius() * factor < 8.0 * m_pixelScale)
            break;
        for (int attempt = 0; attempt < 150; ++attempt) {
            const auto [x, y] = randomPointInTissue(random);
            PolarBlob tumour = shape.movedAndScaled(x, y, factor);
            if (tumourFits(tumour)) {
                m_tumours.push_back(std::move(tumour));
                return true;
            }
        }
    }
    return false;
}

void TissuePhantom::placeHeavyTailedTumours(std::uint64_t seed)
{
    // Camelyon16's burden: about half the positive slides hold only micro-metastases (one or two
    // regions of a few patches), the rest one to a few larger regions, log-uniform in radius.
    SeededRandom random(seed);
    const PresetModel &model = *m_model;
    const double shortSide = static_cast<double>(std::min(m_width, m_height));
    m_microOnly = random.uniform() < model.microProbability;
    std::vector<double> radii;
    if (m_microOnly) {
        const int count = random.uniform() < 0.35 ? 2 : 1;
        for (int t = 0; t < count; ++t)
            radii.push_back(random.uniform(model.microRadiusMin, model.microRadiusMax) * m_pixelScale);
    } else {
        const int count = 1 + random.index(std::max(1, model.macroMax));
        const double smallest = model.macroRadiusMin * m_pixelScale;
        const double largest = std::max(model.macroShortSideFraction * shortSide, 1.5 * smallest);
        for (int t = 0; t < count; ++t)
            radii.push_back(std::exp(random.uniform(std::log(smallest), std::log(largest))));
    }
    for (std::size_t t = 0; t < radii.size(); ++t) {
        std::vector<BlobHarmonic> harmonics;
        addHarmonics(harmonics, random, 2, 6, 0.04, 0.16, 0.5);
        addHarmonics(harmonics, random, 7, 20, 0.0, 0.06, 0.8);
        addHarmonics(harmonics, random, 21, 40, 0.0, 0.015, 1.0);
        placeTumour(PolarBlob(0.0, 0.0, radii[t], harmonics, 0.3), t == 0 ? 30 : 6, random);
    }
}

void TissuePhantom::placeMimics(std::uint64_t seed)
{
    // Lymphoid aggregates anywhere in the tissue (never touching tumour), some with a germinal
    // centre: dense dark nuclei on tumour-like purple, in normal and positive slides alike.
    SeededRandom random(seed);
    const PresetModel &model = *m_model;
    const int count = model.aggregatesMin + random.index(model.aggregatesMax - model.aggregatesMin + 1);
    for (int a = 0; a < count; ++a) {
        std::vector<BlobHarmonic> harmonics;
        addHarmonics(harmonics, random, 2, 5, 0.02, 0.1, 0.6);
        addHarmonics(harmonics, random, 6, 16, 0.0, 0.02, 1.0);
        const double radius
            = std::exp(random.uniform(std::log(model.aggregateRadiusMin), std::log(model.aggregateRadiusMax))) * m_pixelScale;
        const PolarBlob shape(0.0, 0.0, radius, harmonics, 0.5);
        const bool withCentre = random.uniform() < model.germinalCentreProbability;
        const double centreFactor = random.uniform(0.45, 0.6);
        for (int attempt = 0; attempt < 100; ++attempt) {
            const auto [x, y] = randomPointInTissue(random);
            const PolarBlob aggregate = shape.movedAndScaled(x, y, 1.0);
            // Copies, not the bindings: a lambda may capture a structured binding from C++20, and
            // clang learnt it only in version 16 (the fuzz build uses Debian's clang 14).
            const double px = x;
            const double py = y;
            const auto apart = [&](const std::vector<PolarBlob> &others, double gap) {
                return std::all_of(others.begin(), others.end(), [&](const PolarBlob &other) {
                    return std::hypot(other.centreX() - px, other.centreY() - py) >= other.maxRadius() + aggregate.maxRadius() + gap;
                });
            };
            if (!apart(m_tumours, 60.0 * m_pixelScale) || !apart(m_aggregates, 0.0)
                || !insideTissue(aggregate, 16.0 * m_pixelScale + 2.0 * m_edgeNoiseAmplitude))
                continue;
            m_aggregates.push_back(aggregate);
            if (withCentre)
                m_centres.push_back(aggregate.movedAndScaled(x, y, centreFactor));
            break;
        }
    }
}

void TissuePhantom::collectObjects(double left, double top, double right, double bottom, PhantomObjectSet &set) const
{
    set.tissue.clear();
    set.holes.clear();
    set.tumours.clear();
    set.aggregates.clear();
    set.centres.clear();
    set.tissueCovers = false;
    const double reach = kFieldLimit + 1.0; // one pixel of slack keeps the culling exact
    for (const PolarBlob &blob : m_tissueBlobs) {
        const double x = blob.centreX();
        const double y = blob.centreY();
        if (farthestCornerDistance(x, y, left, top, right, bottom) < blob.minRadius() - reach)
            set.tissueCovers = true;
        else if (distanceToRectangle(x, y, left, top, right, bottom) <= blob.maxRadius() + reach)
            set.tissue.push_back(&blob);
    }
    if (set.tissueCovers)
        set.tissue.clear();
    auto collect = [&](const std::vector<PolarBlob> &blobs, std::vector<const PolarBlob *> &into) {
        for (const PolarBlob &blob : blobs)
            if (distanceToRectangle(blob.centreX(), blob.centreY(), left, top, right, bottom) <= blob.maxRadius() + reach)
                into.push_back(&blob);
    };
    collect(m_holes, set.holes);
    collect(m_tumours, set.tumours);
    collect(m_aggregates, set.aggregates);
    collect(m_centres, set.centres);
}

PhantomFields TissuePhantom::fieldsAt(const PhantomObjectSet &set, double x, double y)
{
    float tissue = set.tissueCovers ? kFieldLimit : -kFieldLimit;
    for (const PolarBlob *blob : set.tissue)
        tissue = std::max(tissue, clampField(blob->field(x, y)));
    float hole = -kFieldLimit;
    for (const PolarBlob *blob : set.holes)
        hole = std::max(hole, clampField(blob->field(x, y)));
    float tumour = -kFieldLimit;
    for (const PolarBlob *blob : set.tumours)
        tumour = std::max(tumour, clampField(blob->field(x, y)));
    float mimic = -kFieldLimit;
    for (const PolarBlob *blob : set.aggregates)
        mimic = std::max(mimic, clampField(blob->field(x, y)));
    float centre = -kFieldLimit;
    for (const PolarBlob *blob : set.centres)
        centre = std::max(centre, clampField(blob->field(x, y)));
    return {std::max(std::min(tissue, -hole), tumour), tumour, hole, mimic, centre};
}

PhantomFields TissuePhantom::fieldsAt(double x, double y) const
{
    PhantomObjectSet set;
    collectObjects(x, y, x, y, set);
    return fieldsAt(set, x, y);
}

} // namespace icmil::slide
