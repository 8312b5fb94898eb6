// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/syntheticpreset.h"

namespace icmil::slide {

namespace {

PresetModel easyModel()
{
    PresetModel model; // the defaults are the original generator's
    model.preset = SyntheticPreset::Easy;
    return model;
}

NucleusMorphology lymphocytes()
{
    NucleusMorphology m;
    m.pitch = 6.0; // densely packed small cells
    m.presence = 0.9f;
    m.majorMin = 2.6f;
    m.majorMax = 3.3f;
    m.roundnessMin = 0.85f;
    m.roundnessMax = 1.0f;
    m.lobeProbability = 0.0f;
    m.vesicularProbability = 0.0f;
    m.colour[0] = 78.0f; // as dark as tumour nuclei
    m.colour[1] = 48.0f;
    m.colour[2] = 138.0f;
    return m;
}

NucleusMorphology centroblasts()
{
    NucleusMorphology m;
    m.pitch = 10.5;
    m.presence = 0.85f;
    m.majorMin = 3.6f;
    m.majorMax = 5.0f;
    m.roundnessMin = 0.8f;
    m.roundnessMax = 1.0f;
    m.lobeProbability = 0.05f;
    m.vesicularProbability = 0.6f;
    m.colour[0] = 84.0f;
    m.colour[1] = 54.0f;
    m.colour[2] = 144.0f;
    return m;
}

PresetModel camelyonModel()
{
    PresetModel model;
    model.preset = SyntheticPreset::Camelyon;
    model.heavyTailed = true;
    model.microProbability = 0.5;
    model.tumour.pitch = 10.5;
    model.tumour.presence = 0.8f;
    model.tumour.majorMin = 4.4f;
    model.tumour.majorMax = 6.6f;
    model.tumour.lobeProbability = 0.5f;
    model.tumour.vesicularProbability = 0.7f;
    model.aggregatesMin = 2;
    model.aggregatesMax = 6;
    model.germinalCentreProbability = 0.6;
    model.lymphocyte = lymphocytes();
    model.centroblast = centroblasts();
    model.siteVariation = true;
    model.centres = 5;
    model.stainAngle = 0.12;
    model.stainScale = 0.25;
    model.slideJitter = 0.06;
    model.blurProbability = 0.3;
    model.penProbability = 0.2;
    model.foldProbability = 0.15;
    return model;
}

PresetModel hardModel()
{
    PresetModel model = camelyonModel();
    model.preset = SyntheticPreset::Hard;
    model.microProbability = 0.65;
    model.microRadiusMin = 90.0;
    model.microRadiusMax = 180.0;
    model.tumour.pitch = 11.0;
    model.tumour.majorMin = 4.0f;
    model.tumour.majorMax = 5.6f;
    model.tumour.roundnessMin = 0.7f;
    model.tumour.lobeProbability = 0.3f;
    model.tumour.vesicularProbability = 0.65f;
    model.aggregatesMin = 3;
    model.aggregatesMax = 8;
    model.germinalCentreProbability = 0.75;
    model.stainAngle = 0.18;
    model.stainScale = 0.35;
    model.slideJitter = 0.1;
    model.blurProbability = 0.4;
    model.penProbability = 0.3;
    model.foldProbability = 0.25;
    return model;
}

} // namespace

std::string presetName(SyntheticPreset preset)
{
    switch (preset) {
    case SyntheticPreset::Easy: return "easy";
    case SyntheticPreset::Camelyon: return "camelyon";
    case SyntheticPreset::Hard: return "hard";
    }
    return "easy";
}

std::optional<SyntheticPreset> parsePreset(const std::string &name)
{
    for (SyntheticPreset preset : {SyntheticPreset::Easy, SyntheticPreset::Camelyon, SyntheticPreset::Hard})
        if (presetName(preset) == name)
            return preset;
    return std::nullopt;
}

std::vector<std::string> presetNames()
{
    return {"easy", "camelyon", "hard"};
}

const PresetModel &presetModel(SyntheticPreset preset)
{
    static const PresetModel easy = easyModel();
    static const PresetModel camelyon = camelyonModel();
    static const PresetModel hard = hardModel();
    switch (preset) {
    case SyntheticPreset::Camelyon: return camelyon;
    case SyntheticPreset::Hard: return hard;
    case SyntheticPreset::Easy: break;
    }
    return easy;
}

} // namespace icmil::slide
