// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// How a bag classifier is trained (bagtrainer.h trains it) and what an epoch reports: plain
// values, no LibTorch, so that the layers above can hold them without loading it.

#include "engine/mil/milmetrics.h"

#include <cstdint>
#include <string>
#include <vector>

namespace icmil::engine {

struct BagTrainerConfig {
    int epochs = 200;          // the reference's EPOCH
    double learningRate = 0.0; // 0: the reference's (ABMIL, MaxPool 2e-4; DTFD 1e-4)
    double weightDecay = 1e-4;
    double gradientClip = 5.0; // max L2 norm of each submodule's gradient; <= 0: off
    // MultiStepLR: the learning rate is multiplied by lrDecay at each of these epochs. Empty: the
    // reference's schedule, none for ABMIL and MaxPool, DTFD at epochs / 2.
    std::vector<int> lrMilestones;
    bool noSchedule = false; // no decay at all, even for DTFD
    double lrDecay = 0.2;
    std::uint64_t seed = 0;
    int earlyStoppingPatience = 0; // stop after this many epochs without a better one; 0: off
    int startEpoch = 0;            // resume: the first epoch to run (optimiser state restored)
    std::string device = "cpu";    // as torch::Device spells it: "cpu", "cuda:0" (resolved: engine/runtime/runtime.h)
};

struct EpochReport {
    int epoch = 0; // 0-based
    int epochs = 0;
    double trainLoss = 0.0; // mean slide-level cross-entropy (DTFD: tier 2)
    double tier1Loss = 0.0; // DTFD: mean pseudo-bag cross-entropy; 0 otherwise
    bool hasValidation = false;
    double valLoss = 0.0;
    ClassificationMetrics val;         // when hasValidation
    std::vector<double> learningRates; // per optimiser, during this epoch
    double seconds = 0.0;
    bool best = false; // the best epoch so far (its weights are kept)
};

} // namespace icmil::engine
