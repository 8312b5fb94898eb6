// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Moving named tensors between a LibTorch module and a StateDict (what PyTorch's
// module.state_dict() / load_state_dict() do), with a report a person can act on.

#include "engine/torchfile/statedict.h"

#include <string>
#include <vector>

namespace torch::nn {
class Module;
}

namespace icmil::engine {

struct StateDictLoadOptions {
    std::string source = "Weights";   // for messages, e.g. "Weights 'resnet50.pth'"
    std::string target = "the model"; // e.g. "resnet50-trunc"
    // File keys under these prefixes are skipped quietly, e.g. "layer4." and "fc." of a full
    // torchvision ResNet-50 loaded into resnet50-trunc.
    std::vector<std::string> ignoredPrefixes;
};

struct StateDictLoadReport {
    std::vector<std::string> loaded;      // model keys filled from the file
    std::vector<std::string> missing;     // model keys the file lacks
    std::vector<std::string> wrongShapes; // "layer1.0.conv1.weight: expected [64, 64, 1, 1], file has [64, 32, 1, 1]"
    std::vector<std::string> problems;    // missing and wrong shapes together, in model order
    std::vector<std::string> defaulted;   // *.num_batches_tracked absent (files from PyTorch < 0.4.1): set to 0
    std::vector<std::string> unexpected;  // file keys the model does not have (not an error)
    std::vector<std::string> ignored;     // file keys under StateDictLoadOptions::ignoredPrefixes
    bool strippedModulePrefix = false;    // every file key began with "module." (DataParallel)

    bool fits() const { return problems.empty(); }
};

// The module's parameters and buffers under PyTorch's state-dict keys and in its order (per
// module: own parameters, own buffers, then children), detached but not copied.
StateDict moduleStateDict(const torch::nn::Module &module);

// Compares without copying anything.
StateDictLoadReport compareStateDict(const torch::nn::Module &module, const StateDict &state, const StateDictLoadOptions &options = {});

// Copies every tensor of `state` into the module's parameter or buffer of the same key (under
// NoGradGuard, converting dtype and device). A "module." prefix on every key is removed first.
// Throws EngineError, changing nothing, when a key is missing or a shape differs, or when a tensor
// it would load holds NaN or Inf ("<source>: " + requireFiniteTensors's message):
//   "Weights 'x.pth' do not fit resnet50-trunc: 2 problems (1 missing key, 1 wrong shape):
//    missing bn1.weight; layer1.0.conv1.weight: expected [64, 64, 1, 1], file has [64, 32, 1, 1]"
// (one line; the first 5 problems, then "; and N more").
StateDictLoadReport loadStateDict(torch::nn::Module &module, const StateDict &state, const StateDictLoadOptions &options = {});

// Throws EngineError "tensor 'attention.0.weight' holds non-finite values (NaN or Inf): the
// checkpoint is damaged" for the first floating or complex tensor of `state` (in its order) with a
// NaN or an infinity; integer and bool tensors cannot hold one. Weights that a model is given are
// checked (loadStateDict, readMilCheckpoint); the generic reader is not, since a file may hold
// non-finite values on purpose (an attention mask of -inf, a metric that was NaN).
void requireFiniteTensors(const StateDict &state);

// The EngineError text loadStateDict() throws for a report that does not fit.
std::string describeProblems(const StateDictLoadReport &report, const StateDictLoadOptions &options);

} // namespace icmil::engine
