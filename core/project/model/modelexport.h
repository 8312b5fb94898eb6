// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// `icmil export-model`: a project's trained model as a bundle (modelbundle.h). The model is an
// ICMIL loop's iteration (its fine-tuned embedder, that iteration's classifier and the loop's
// preprocessing) or a classifier run (`icmil train`; when the run is a loop's iteration, the
// loop's). A run outside a loop does not record its embedder: the caller names it, and the export
// checks it by embedding a few patches of one of the project's slides again and comparing them
// with the features the classifier was trained on.

#include "engine/embedders/embedderconfig.h"
#include "project/model/modelbundle.h"

#include <filesystem>
#include <optional>
#include <string>

namespace icmil::project {

struct ModelExportConfig {
    std::filesystem::path projectRoot;
    std::string run;              // runs/<run>; or
    std::string loop;             // icmil/<loop>
    std::optional<int> iteration; // of the loop; default: its last trained iteration
    // For a run outside a loop: the embedder that made its features (name empty: the features'
    // encoder when it is a built-in, randomly initialised with `seed`).
    engine::EmbedderConfig embedder{"", {}, 0};
    std::filesystem::path slides; // for the check; default: the project's (icmil-project.json)
    std::filesystem::path out;
};

struct ModelExportReport {
    ModelBundleInfo info;
    std::string source; // "loop icmil, iteration 2 (its last)" or "run abmil"
    // The check: patches of `checkedSlide` embedded again against its stored features.
    std::string checkedSlide; // empty: not checked, `notChecked` says why
    int checkedPatches = 0;
    double maxFeatureDifference = 0.0; // max |new - stored| / max(1, max |stored|)
    std::string notChecked;
};

// Largest relative feature difference the check accepts (extraction on another device or batch
// size differs in the last bits; half precision on CUDA by about 1e-3).
inline constexpr double kFeatureCheckTolerance = 5e-3;

// Throws ProjectError with one sentence: no such run or loop, an iteration that did not train,
// features that do not say how their patches were cut (imported from another tool), an embedder
// whose features differ from the stored ones, an unwritable output.
ModelExportReport exportModel(const ModelExportConfig &config);

} // namespace icmil::project
