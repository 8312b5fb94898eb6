// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/embedders/embedder.h"

#include <filesystem>
#include <string>
#include <string_view>

namespace icmil::engine {

// The JSON file beside a TorchScript embedder ("model.pt" -> "model.json"), a flat object:
//   {"name": "uni", "input_size": 224, "feature_dim": 1024,
//    "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
// All five fields are required; other fields are allowed and ignored. Read with the engine's own
// strict JSON reader (jsonvalue.h: the engine links LibTorch only); errors name the file and the
// line and column or the field at fault.
struct TorchScriptSidecar {
    std::string name;
    int inputSize = 0;
    int featureDim = 0;
    Normalisation normalisation;

    // "dir/model.pt" -> "dir/model.json"
    static std::filesystem::path pathFor(const std::filesystem::path &modulePath);

    // Throws EngineError "TorchScript JSON 'x.json': <what is wrong>".
    static TorchScriptSidecar read(const std::filesystem::path &jsonPath);
    static TorchScriptSidecar parse(std::string_view text, const std::string &source);

    std::string toJson() const;
    void write(const std::filesystem::path &jsonPath) const; // atomically
};

} // namespace icmil::engine
