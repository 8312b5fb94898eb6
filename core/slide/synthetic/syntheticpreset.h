// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// How hard a synthetic slide is: the knobs of the generator that `icmil synth --preset` picks.
//   easy      the original look: 1-4 tumours of mixed size in every positive slide, no mimics,
//             one stain; a randomly initialised CNN separates the classes (every AUC 1.0).
//   camelyon  Camelyon16-like: heavy-tailed tumour burden (about half the positive slides carry
//             only one or two micro-metastases of a few patches, well under 1% of the tissue);
//             lymphoid aggregates and germinal centres in every slide whose colour and nuclear
//             density overlap tumour, so only morphology (nuclear size, irregular outline,
//             vesicular chromatin, crowding) tells tumour apart; H&E stain, intensity and
//             background drawn per scanning centre and per slide; some defocus blur, pen marks
//             and folds. The demo's preset.
//   hard      as camelyon, with more micro-metastases, more mimics, tumour nuclei closer to the
//             germinal-centre cells, and stronger site variation.
// Ground truth (tumour masks and GeoJSON) stays exact for every preset: mimics, blur, pen and
// folds are never tumour.

#include <optional>
#include <string>
#include <vector>

namespace icmil::slide {

enum class SyntheticPreset { Easy, Camelyon, Hard };

std::string presetName(SyntheticPreset preset);
// "easy", "camelyon", "hard"; nothing for another name.
std::optional<SyntheticPreset> parsePreset(const std::string &name);
std::vector<std::string> presetNames();

// Nuclear morphology of one cell population, sizes in 0.5 um pixels (semi-axes).
struct NucleusMorphology {
    double pitch = 10.0;    // cell-grid spacing: smaller = more crowded
    float presence = 0.85f; // share of grid cells with a nucleus
    float majorMin = 4.5f;  // semi-major axis range
    float majorMax = 7.0f;
    float roundnessMin = 0.6f; // minor / major
    float roundnessMax = 0.95f;
    float lobeProbability = 0.6f;             // irregular outline (a second lobe)
    float vesicularProbability = 0.7f;        // darker rim, pale centre, nucleolus
    float colour[3] = {80.0f, 50.0f, 140.0f}; // the palest of the range
};

struct PresetModel {
    SyntheticPreset preset = SyntheticPreset::Easy;
    // Tumour burden. heavyTailed: with probability microProbability a positive slide has only
    // 1-2 micro-metastases of radius microRadius (0.5 um px), else 1-macroMax regions of radius
    // log-uniform between macroRadiusMin and macroShortSideFraction of the slide's short side.
    bool heavyTailed = false;
    double microProbability = 0.5;
    double microRadiusMin = 100.0;
    double microRadiusMax = 200.0;
    int macroMax = 3;
    double macroRadiusMin = 350.0;
    double macroShortSideFraction = 0.12;
    NucleusMorphology tumour;
    // Mimics (every slide): lymphoid aggregates, some with a germinal centre.
    int aggregatesMin = 0;
    int aggregatesMax = 0;
    double aggregateRadiusMin = 150.0; // 0.5 um px
    double aggregateRadiusMax = 700.0;
    double germinalCentreProbability = 0.0;
    NucleusMorphology lymphocyte;
    NucleusMorphology centroblast;
    // Site variation.
    bool siteVariation = false;
    int centres = 1;
    double stainAngle = 0.0;      // radians a stain vector may turn per centre
    double stainScale = 0.0;      // concentration scale 1 +- this per centre
    double slideJitter = 0.0;     // and per slide
    double blurProbability = 0.0; // of a slide having out-of-focus regions
    double penProbability = 0.0;
    double foldProbability = 0.0;
};

const PresetModel &presetModel(SyntheticPreset preset);

} // namespace icmil::slide
