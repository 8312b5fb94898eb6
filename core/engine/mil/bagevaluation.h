// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Running a bag classifier on slides: one bag's probabilities, attention and instance scores, and
// a labelled set's loss and metrics (what validation and testing need).

#include "engine/mil/milmetrics.h"
#include "engine/mil/milmodel.h"

#include <optional>
#include <string>
#include <vector>

namespace icmil::engine {

// A slide as the MIL engine sees it.
struct Bag {
    std::string id;         // the slide id, for messages
    torch::Tensor features; // N x D float, N >= 1 (kept on the CPU; moved per use)
    int label = -1;         // class index, -1 when unknown (prediction only)
};

struct BagPrediction {
    std::vector<double> probabilities; // C, softmax of the slide logits
    std::vector<float> attention;      // N, normalised (sums to 1)
    std::vector<float> attentionRaw;   // N, before normalisation
    // N x C row-major: softmax of the model's instance head on each patch (MilModel::instanceLogits,
    // ICMIL's instance view); each row sums to 1. Empty when not asked for.
    std::vector<float> instanceProbabilities;
    double loss = 0.0; // cross-entropy against the bag's label (0 when unknown)
};

// Throws EngineError when `bag` cannot go through `model`: no patches ("Slide 's1' has no patch
// features"), another feature width ("Slide 's1' has 768 features per patch; the model takes
// 1024"), or a class the model does not have.
void checkBagFits(const MilModel &model, const Bag &bag);

// model.eval(), no gradients, features moved to the model's device. Restores the model's
// training mode afterwards. `instances`: also the per-patch instance probabilities (a second pass
// of the patches through dim_reduction and the instance classifier; evaluation leaves it out).
// Throws EngineError for an empty bag or a feature width the model does not take ("Slide 's1'
// has 768 features per patch; the model takes 1024").
BagPrediction predictBag(MilModel &model, const Bag &bag, bool instances = true);

struct BagSetEvaluation {
    std::vector<int> labels;
    std::vector<double> probabilities; // count x C, row-major
    double loss = 0.0;                 // mean cross-entropy
    ClassificationMetrics metrics;     // valid when !bags.empty()
};

// Every bag must have a label. `threshold`: binary operating threshold for the thresholded metrics.
BagSetEvaluation evaluateBags(MilModel &model, const std::vector<Bag> &bags, std::optional<double> threshold = std::nullopt);

} // namespace icmil::engine
