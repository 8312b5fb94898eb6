// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Which patch embedder to build: plain settings, no LibTorch, so that the layers above can hold
// and save them without loading it (docs/ARCHITECTURE.md, "LibTorch on demand").

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace icmil::engine {

// What to build. `name` is a built-in ("resnet50-trunc", "tiny-cnn") or the path of a TorchScript
// file (".pt"/".ts"/".torchscript") with a JSON beside it (same stem + ".json") giving
// {"name", "input_size", "feature_dim", "mean": [3], "std": [3]}.
struct EmbedderConfig {
    std::string name = "tiny-cnn";
    // Optional weights for a built-in: a torch.save file (torchvision names for resnet50-trunc),
    // or a file written by Embedder::save(). Empty: random initialisation seeded by `seed`.
    std::filesystem::path weights;
    std::uint64_t seed = 0;
};

inline constexpr const char *kResNet50TruncName = "resnet50-trunc";
inline constexpr const char *kTinyCnnName = "tiny-cnn";

// The built-in names (embedder.h builds them), for --help texts and the GUI's list.
std::vector<std::string> builtInEmbedderNames();
// Whether `name` is one of them (else it names a TorchScript file).
bool isBuiltInEmbedder(const std::string &name);

} // namespace icmil::engine
