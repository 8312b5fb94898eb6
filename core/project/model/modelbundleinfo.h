// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What a model bundle (modelbundle.h) is, as its model.json says: plain values, no LibTorch, so
// the app can show a bundle (read through the LibTorch module, project/backend/torchbackend.h).

#include "engine/mil/milconfig.h"
#include "project/features/extractionconfig.h"

#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

inline constexpr int kModelBundleFormatVersion = 1;
inline constexpr const char *kModelBundleFormat = "icmil-model";

struct ModelBundleInfo {
    int formatVersion = kModelBundleFormatVersion;
    std::string name;         // what the model is called where it came from: "<loop> iteration K" or the run
    std::string encoder;      // the feature folder its features go to ("icmil-it1", "tiny-cnn")
    std::string embedderName; // a built-in name, or the TorchScript embedder's own name
    bool torchScript = false;
    int featureDim = 0;
    int inputSize = 0;
    engine::MilModelType modelType = engine::MilModelType::Abmil;
    std::vector<std::string> classNames;
    std::optional<double> threshold; // on p(class 1), chosen on validation
    // The preprocessing that made the classifier's features: tiling (patch geometry, tissue
    // detection; never limits by annotations, which new slides lack) and stain normalisation.
    // Only `tiling` and `stain` are meaningful; the rest is ExtractionConfig's defaults.
    ExtractionConfig preprocessing;
    std::string provenanceJson; // a JSON object: source, dataset, metrics, iteration, versions
};

} // namespace icmil::project
