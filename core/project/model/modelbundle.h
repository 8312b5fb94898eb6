// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A trained model as one file that can be handed from a GPU server to a desktop: a ZIP archive
// (stored members, so Python's zipfile reads it) holding
//
//   model.json        what the rest means (format "icmil-model", format_version 1; README.md,
//                     "Model bundles", documents every key)
//   embedder.pth      a built-in embedder's weights (an ordinary torch.save state dict), or
//   embedder.pt       a TorchScript embedder, with embedder.json (its input size, width, normalisation)
//   classifier.pth    the bag classifier (our checkpoint: a torch.save file the ICMIL reference loads)
//
// and in model.json the preprocessing that produced the classifier's features (patch geometry,
// tissue detection, stain normalisation with its reference), the class names, the operating
// threshold chosen on validation and the provenance (dataset, metrics per split, ICMIL
// iteration, versions). Reading checks every part and fails with one sentence naming the bundle.

#include "engine/embedders/embedder.h"
#include "engine/mil/milcheckpoint.h"
#include "project/features/extractionconfig.h"
#include "project/model/modelbundleinfo.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

// Writes the bundle atomically. The embedder is saved with Embedder::save (a randomly
// initialised or calibrated built-in becomes concrete weights). Throws ProjectError
// "Cannot write model bundle 'x': <cause>".
void writeModelBundle(const std::filesystem::path &path, const engine::Embedder &embedder, const engine::MilCheckpoint &classifier,
                      const ModelBundleInfo &info);

// model.json alone (no weights loaded). Throws ProjectError as readModelBundle does for the
// archive and model.json.
ModelBundleInfo readModelBundleInfo(const std::filesystem::path &path);

struct LoadedModelBundle {
    ModelBundleInfo info;
    std::unique_ptr<engine::Embedder> embedder; // on the CPU, eval mode
    engine::MilCheckpoint classifier;
};

// Everything, checked. Throws ProjectError with one sentence naming the bundle for a file that
// is not a bundle, a missing member, a member that fails its CRC check, a format version this
// program does not read, class names that do not match the classifier, or an embedder whose
// width does not fit the classifier.
LoadedModelBundle readModelBundle(const std::filesystem::path &path);

// The preprocessing as model.json stores it ({"patches", "tissue", "stain_normalisation"}, the
// ICMIL loop's saved-settings keys) and back.
std::string preprocessingJson(const ExtractionConfig &config);
ExtractionConfig preprocessingFromJson(const std::string &json);

} // namespace icmil::project
