// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Multiple-instance bag classifiers: a slide is a bag of N patch features (N x D); the model gives
// the slide's class logits and a score per patch (attention) for the heatmap. The three models of
// the ICMIL reference (github.com/Dootmaan/ICMIL, step1_train_classifier_*.py), with its state-dict
// layout: submodules "dim_reduction", "attention" (none for MaxPool), "classifier", and
// "att_classifier" (DTFD-MIL's tier 2). A reference checkpoint therefore loads as it is.

#include "engine/mil/milblocks.h"
#include "engine/mil/milconfig.h"

#include <torch/nn/module.h>
#include <torch/types.h>

#include <ATen/core/Generator.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace icmil::engine {

// One bag through a model.
struct MilOutput {
    torch::Tensor logits;       // 1 x C, the slide's
    torch::Tensor attentionRaw; // N, the attention network's score per instance before softmax
                                // (MaxPool: the number of embedding dimensions the instance wins)
    torch::Tensor attention;    // N, normalised to sum to 1 over the bag (softmax of the raw
                                // scores; MaxPool: the share of dimensions)
    torch::Tensor tier1Logits;  // DTFD only: G x C, one row per pseudo-bag (tier 1's loss)
};

class MilModel : public torch::nn::Module {
public:
    const MilModelConfig &config() const { return m_config; }

    // bag: N x D (N >= 1) on the model's device. `generator` (CPU) draws DTFD's random pseudo-bags
    // in training; without it (and always in eval) pseudo-bags are torch.chunk of the given order,
    // as the reference computes them on a bag it has not shuffled. ABMIL and MaxPool ignore it.
    virtual MilOutput forward(const torch::Tensor &bag, std::optional<at::Generator> generator = std::nullopt) = 0;

    // The instance-level head ICMIL's teacher uses (step2_teacher_student_*_distillation.py):
    // instanceClassifier()(dim_reduction(x)) per row, N x C. The instance classifier is
    // "classifier" for ABMIL and MaxPool (so on a one-instance bag this equals their slide
    // logits) and tier 2's "att_classifier.classifier" for DTFD-MIL, as the reference loads it.
    torch::Tensor instanceLogits(const torch::Tensor &features);
    torch::Tensor embed(const torch::Tensor &features); // dim_reduction(x), N x embedDim
    DimReduction dimReduction() const { return m_dimReduction; }
    virtual LinearClassifier instanceClassifier() const { return m_classifier; }

    // Per-instance attention over a set of embedded instances (N x embedDim, e.g. a batch of
    // patches from many slides), min-max normalised over those N to [0, 1]: the basis of the
    // confidence-based fine-tuning weight |2a - 1|^beta (the reference's confidence_based
    // branch). ABMIL: the raw gated-attention score; DTFD-MIL: the product of its two tiers'
    // normalised scores (step2_train_teacherstudent_dtfdmil_dual_ax_semilearn.py). Undefined
    // tensor for MaxPool, which has no attention network. Equal scores give 0 (not NaN).
    torch::Tensor normalisedInstanceAttention(const torch::Tensor &embedded);
    // The raw scores that normalisedInstanceAttention min-max normalises and multiplies, one
    // tensor per attention network (ABMIL one, DTFD-MIL two; none for MaxPool), so that a
    // data-parallel caller can normalise a shard of the batch by the whole batch's minimum and
    // maximum (engine/icmil/teacherstudent.cpp).
    virtual std::vector<torch::Tensor> instanceAttentionScores(const torch::Tensor &embedded);

    // Submodules trained by each optimiser, in the reference's order: one group for ABMIL and
    // MaxPool (dim_reduction, attention, classifier), two for DTFD (tier 1; att_classifier).
    virtual std::vector<std::vector<std::string>> optimiserGroups() const;

    torch::Device device() const;

protected:
    explicit MilModel(MilModelConfig config);
    MilModelConfig m_config;
    DimReduction m_dimReduction{nullptr};   // "dim_reduction"
    LinearClassifier m_classifier{nullptr}; // "classifier"
};

// Min-max normalisation of a vector to [0, 1] (x - min) / (max - min); all zeros when max == min.
torch::Tensor minMaxNormalise(const torch::Tensor &values);
// The same with the minimum and maximum given (0-dim tensors; those of a larger set).
torch::Tensor minMaxNormalise(const torch::Tensor &values, const torch::Tensor &minimum, const torch::Tensor &maximum);

// A deep copy: same config, parameters and buffers copied, on the same device, in the same
// training mode, with requires_grad set (ICMIL's teacher and student heads).
std::shared_ptr<MilModel> copyMilModel(const MilModel &model);

// Builds an untrained model (weights seeded by config.seed). Throws EngineError for a config that
// makes no model (C < 2, dims < 1, pseudoBags < 1).
std::shared_ptr<MilModel> makeMilModel(const MilModelConfig &config);

} // namespace icmil::engine
