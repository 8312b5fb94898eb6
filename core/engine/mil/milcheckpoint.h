// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Bag-classifier checkpoints: ours, and the ICMIL reference's.
//
// Ours is a torch.save-compatible zip (Python's torch.load reads it) holding the reference's
// layout plus what a tool needs:
//   "dim_reduction", "attention", "classifier"[, "att_classifier"]  the weights, one state dict
//                                                                  each, as the reference saves them
//   "icmil_studio"   {"format", "format_version", "model_type", dimensions, "class_names",
//                     "epoch", "threshold", "training_config" (JSON), "metrics" (JSON)}
//   "optimizer"      Adam's state per parameter ("<group>.<param>.exp_avg", ...), "optimizer_lr"
// so the reference's own scripts can load our weights with pretrained_weights['classifier'] etc.
//
// A reference checkpoint (torch.save of {'classifier', 'dim_reduction', 'attention'[,
// 'att_classifier']} from CUDA, legacy or zip format) reads as a MilCheckpoint with
// reference = true: the model type is inferred from the keys (att_classifier: DTFD; attention
// weights: ABMIL; an empty attention: MaxPool) or given, the dimensions from the weight shapes.

#include "engine/mil/milmodel.h"
#include "engine/torchfile/statedict.h"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace icmil::engine {

inline constexpr int kMilCheckpointFormatVersion = 1;

struct MilCheckpoint {
    int formatVersion = kMilCheckpointFormatVersion; // 0 for a reference checkpoint
    bool reference = false;
    MilModelConfig model;
    std::vector<std::string> classNames;        // class index -> name; empty when unknown (reference)
    StateDict weights;                          // "dim_reduction.fc1.weight", ... (module state-dict keys)
    StateDict optimizer;                        // "<group>.<param key>.{step,exp_avg,exp_avg_sq}"; may be empty
    std::vector<double> optimizerLearningRates; // per optimiser group, when `optimizer` is set
    int epoch = -1;                             // the epoch these weights come from (0-based), -1 unknown
    std::optional<double> threshold;            // binary operating threshold chosen on validation data
    std::string trainingConfigJson;             // opaque to the engine: the caller's settings
    std::string metricsJson;                    // opaque to the engine: the caller's metrics
};

// A checkpoint of `model`'s current weights (copied to the CPU), without optimiser state.
MilCheckpoint makeMilCheckpoint(const MilModel &model);

// Writes atomically (temp file, fsync, rename). Throws EngineError "Cannot write 'x': <reason>".
void writeMilCheckpoint(const std::filesystem::path &path, const MilCheckpoint &checkpoint);

// Reads ours or a reference checkpoint. `type` overrides the model type inferred from a reference
// file. Throws EngineError "Cannot read MIL checkpoint 'x.pth': <cause>" for a file that is not a
// torch.save file, has no dim_reduction.fc1.weight, a newer format version, or weights that do
// not fit the model they describe.
MilCheckpoint readMilCheckpoint(const std::filesystem::path &path, std::optional<MilModelType> type = std::nullopt);

// The checkpoint's model with its weights, on `device`, in eval mode. Throws EngineError when the
// weights do not fit (a missing key or a wrong shape, as loadStateDict says).
std::shared_ptr<MilModel> instantiateMilModel(const MilCheckpoint &checkpoint, torch::Device device = torch::kCPU);

} // namespace icmil::engine
