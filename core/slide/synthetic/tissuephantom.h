// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/synthetic/noisetexture.h"
#include "slide/synthetic/polarblob.h"
#include "slide/synthetic/siteappearance.h"
#include "slide/synthetic/syntheticpreset.h"

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace icmil::slide {

struct SyntheticSlideConfig;

// The three membership fields at one point, in level-0 pixels, clamped to +-kFieldLimit:
// positive inside. `tissue` already has holes cut out and tumours put back in.
struct PhantomFields {
    float tissue = 0.0f;
    float tumour = 0.0f;
    float hole = 0.0f;
    float mimic = -32.0f;  // lymphoid aggregate (outside tumour)
    float centre = -32.0f; // its germinal centre
};

// The objects that can change the clamped fields anywhere in one rectangle (see collectObjects).
struct PhantomObjectSet {
    std::vector<const PolarBlob *> tissue;
    std::vector<const PolarBlob *> holes;
    std::vector<const PolarBlob *> tumours;
    std::vector<const PolarBlob *> aggregates;
    std::vector<const PolarBlob *> centres;
    bool tissueCovers = false; // the rectangle lies deep inside a tissue blob
};

// The random geometry and texture model of one synthetic slide, all drawn from the seed:
// 1-3 irregular tissue blobs with lumens/fat holes, and for positive slides tumour regions lying
// wholly inside tissue: preset easy 1-4 of mixed sizes (always one small, micrometastasis-like
// one); presets camelyon and hard a heavy-tailed burden (micro-metastases only, or larger ones),
// plus lymphoid aggregates with germinal centres (mimics) in every slide and the site's
// appearance (siteappearance.h).
// Immutable after construction and safe to share between rendering threads.
class SeededRandom;

class TissuePhantom {
public:
    static constexpr float kFieldLimit = 32.0f;
    static constexpr std::uint32_t kGrainTableSize = 1u << 16;

    explicit TissuePhantom(const SyntheticSlideConfig &config);

    std::int64_t width() const { return m_width; }
    std::int64_t height() const { return m_height; }
    std::uint64_t seed() const { return m_seed; }
    // Level-0 pixels per "0.5 um pixel": cell sizes are modelled at 0.5 um/px and scaled by this.
    double pixelScale() const { return m_pixelScale; }
    // Amplitude (pixels) of the fine noise added to the fields at outlines.
    float edgeNoiseAmplitude() const { return m_edgeNoiseAmplitude; }
    double fibreAngle() const { return m_fibreAngle; }

    const std::vector<PolarBlob> &tissueBlobs() const { return m_tissueBlobs; }
    const std::vector<PolarBlob> &holes() const { return m_holes; }
    const std::vector<PolarBlob> &tumours() const { return m_tumours; }
    const std::vector<PolarBlob> &aggregates() const { return m_aggregates; }
    const std::vector<PolarBlob> &germinalCentres() const { return m_centres; }
    const PresetModel &model() const { return *m_model; }
    bool microMetastasesOnly() const { return m_microOnly; } // heavy-tailed presets' small-burden slides
    const SiteAppearance &site() const { return *m_site; }
    // Glass after the site's stain (background tiles are copied from here).
    const std::uint8_t *siteGlassRow(std::uint32_t rowOffset, std::int64_t x) const
    {
        return &m_siteGlass[static_cast<std::size_t>((rowOffset + static_cast<std::uint32_t>(x)) & (kGrainTableSize - 1)) * 3];
    }

    const NoiseTexture &fibreTexture() const { return m_fibreTexture; } // collagen bundles: x across them, y along
    const NoiseTexture &edgeTexture() const { return m_edgeTexture; }   // ragged outlines, fine mottling

    // Per-pixel grain, -2..2 (binomial): a 64 Ki table walked from a hashed offset per row, so a
    // row costs one hash and each pixel one look-up.
    std::uint32_t grainRowOffset(std::int64_t y) const;
    int grain(std::uint32_t rowOffset, std::int64_t x) const
    {
        return m_grain[(rowOffset + static_cast<std::uint32_t>(x)) & (kGrainTableSize - 1)];
    }
    // Bare glass with the same grain, as ready RGB bytes: pixels x .. x + kGlassRun - 1 of the row
    // with this grain offset (so a background run is one memcpy).
    static constexpr int kGlass[3] = {242, 242, 244};
    static constexpr std::uint32_t kGlassRun = 4096;
    const std::uint8_t *glassRow(std::uint32_t rowOffset, std::int64_t x) const
    {
        return &m_glass[static_cast<std::size_t>((rowOffset + static_cast<std::uint32_t>(x)) & (kGrainTableSize - 1)) * 3];
    }

    // Fills `set` with the objects whose clamped field is not constant over the rectangle; the
    // objects left out contribute exactly -kFieldLimit (or +kFieldLimit for a covering blob), so
    // fieldsAt(set, x, y) equals fieldsAt(x, y) for every point in the rectangle.
    void collectObjects(double left, double top, double right, double bottom, PhantomObjectSet &set) const;
    static PhantomFields fieldsAt(const PhantomObjectSet &set, double x, double y);
    PhantomFields fieldsAt(double x, double y) const;

private:
    void placeTissue(std::uint64_t seed);
    void placeHoles(std::uint64_t seed);
    void placeTumours(std::uint64_t seed);
    void placeHeavyTailedTumours(std::uint64_t seed);
    bool placeTumour(const PolarBlob &shape, int shrinkSteps, SeededRandom &random);
    std::pair<double, double> randomPointInTissue(SeededRandom &random) const;
    void placeMimics(std::uint64_t seed);
    bool tumourFits(const PolarBlob &tumour) const;
    bool insideTissue(const PolarBlob &blob, double margin) const;

    std::int64_t m_width;
    std::int64_t m_height;
    std::uint64_t m_seed;
    double m_pixelScale;
    float m_edgeNoiseAmplitude;
    double m_fibreAngle = 0.0;
    std::vector<PolarBlob> m_tissueBlobs;
    std::vector<PolarBlob> m_holes;
    std::vector<PolarBlob> m_tumours;
    std::vector<PolarBlob> m_aggregates;
    std::vector<PolarBlob> m_centres;
    const PresetModel *m_model;
    bool m_microOnly = false;
    std::unique_ptr<SiteAppearance> m_site;
    NoiseTexture m_fibreTexture;
    NoiseTexture m_edgeTexture;
    std::vector<std::int8_t> m_grain;
    std::vector<std::uint8_t> m_glass; // (kGrainTableSize + kGlassRun) RGB pixels
    std::vector<std::uint8_t> m_siteGlass;
};

} // namespace icmil::slide
