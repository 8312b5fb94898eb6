// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Step 2 of ICMIL: the trained bag classifier, frozen, teaches the patch embedder
// (github.com/Dootmaan/ICMIL, step2_teacher_student_*_distillation.py; the confidence-based
// variant from its confidence_based branch).
//
//   teacher: a frozen copy of the embedder (eval mode) + the frozen instance head of the bag
//            classifier, dim_reduction -> instance classifier, on the plain patch;
//   student: the embedder being trained (train mode) + a trainable copy of that head, on an
//            augmented view of the patch (flips, random resized crop: patchaugmenter.h).
//
//   loss = mean_nc w_n KL(student_n || target_n)                          (loss0, the embedder's)
//        + 0.5 mean_nc KL(head_s(teacher's embedding)_n || target_n)       (loss1)
//        + 0.5 mean_nm KL(dim_reduction_s(teacher's embedding)_n || dim_reduction_t(...)_n)  (loss2)
//
// where KL(q || p) is PyTorch's KLDivLoss(log_softmax(q), softmax(p)) per element, target_n is the
// teacher's instance prediction, or the one-hot vector of patch n's class where the caller knows
// it (an extension of the reference: every patch of a negative bag is negative), and w_n = 1, or
// |2 a_n - 1|^beta with a_n the teacher's min-max normalised attention over the batch in the
// confidence-based variant (confident patches, very high or very low attention, count most).
// One Adam (lr 1e-5, weight decay 1e-4) over the student's embedder and head; the head's
// dim_reduction and classifier gradients are clipped to norm 5 each, as in the reference.

#include "engine/icmil/distillationconfig.h"
#include "engine/embedders/embedder.h"
#include "engine/mil/milmodel.h"
#include "engine/icmil/patchaugmenter.h"

#include <torch/types.h>

#include <ATen/core/Generator.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace torch::optim {
class Adam;
}

namespace icmil::engine {

class DistributedGroup;

// Agreement of student and teacher on held-out patches (the reference's TestModel): mean
// absolute difference of the class probabilities, and how often their argmax agrees.
struct DistillationAgreement {
    double absoluteErrorSum = 0.0;
    std::int64_t elements = 0; // patches x classes
    std::int64_t patches = 0;
    std::int64_t agreeing = 0;
    double meanAbsoluteError() const { return elements > 0 ? absoluteErrorSum / static_cast<double>(elements) : 0.0; }
    double accuracy() const { return patches > 0 ? static_cast<double>(agreeing) / static_cast<double>(patches) : 0.0; }
};

// The loss from the six head outputs (logits N x C, embeddings N x M), optional weights (N,
// undefined for none) and optional known classes (N integers, -1 where unknown; undefined for
// none), as tensors so a test can check it by hand and autograd can use it.
struct DistillationTerms {
    torch::Tensor total, student, consistency, embedding;
};
DistillationTerms distillationLoss(const torch::Tensor &teacherLogits, const torch::Tensor &teacherEmbedding,
                                   const torch::Tensor &studentLogits, const torch::Tensor &consistencyLogits,
                                   const torch::Tensor &consistencyEmbedding, const torch::Tensor &weights = {},
                                   const torch::Tensor &knownClass = {});

// |2 a - 1|^beta for attention a in [0, 1].
torch::Tensor confidenceWeights(const torch::Tensor &normalisedAttention, double beta);

class TeacherStudentDistiller {
public:
    // Copies `embedder` twice (teacher, student) and `classifier`'s head twice, all on the
    // embedder's device. Throws EngineError when the classifier does not take the embedder's
    // features, or confidence weighting is asked of a model without attention (MaxPool).
    //
    // Data-parallel (`group`, engine/distributed; null: this process alone): every rank holds
    // the same models and passes step() its shard of each global batch (BatchShard). The
    // augmentation is drawn for the whole batch, the confidence weights are normalised by the
    // whole batch's attention range, each rank's loss is weighted by its share of the batch
    // and the gradients are summed over the ranks, so a step is one process's step on the
    // global batch up to the order of floating-point sums, and the ranks' weights stay equal.
    // Batch-norm statistics, where the student trains them (freezeBatchNorm off), are each
    // rank's own (PyTorch's DDP without SyncBatchNorm).
    TeacherStudentDistiller(const Embedder &embedder, const MilModel &classifier, DistillationConfig config,
                            DistributedGroup *group = nullptr);
    ~TeacherStudentDistiller();

    // One optimisation step on a batch of plain patches (N x 3 x S x S in [0, 1], on the
    // device): the student sees its augmented view. `knownClass` (N integers, -1 where unknown;
    // undefined: none known) replaces the teacher's target of a patch whose class is known.
    // Throws EngineError "Fine-tuning diverged: the loss is nan at step k" (weights unchanged)
    // when the loss is not finite.
    // With a group, `patches` are rows shard.offset... of the global batch (possibly none) and
    // the losses returned are the global batch's, the same on every rank.
    DistillationLosses step(const torch::Tensor &patches, const torch::Tensor &knownClass = {}, BatchShard shard = {});

    // Adds a held-out batch to `into`: the teacher on the plain patches, the student (in eval
    // mode) on a view augmented with `generator` (the reference's validation compares them so).
    // With a shard, this rank's part of the batch (the draws as for the whole batch); the caller
    // sums the ranks' agreements (reduceAgreement).
    void evaluate(const torch::Tensor &patches, at::Generator &generator, DistillationAgreement &into, BatchShard shard = {});
    // Sums `agreement` over the ranks (nothing without a group).
    void reduceAgreement(DistillationAgreement &agreement);

    Embedder &student() { return *m_student; }
    const Embedder &teacher() const { return *m_teacher; }
    MilModel &studentHead() { return *m_studentHead; }
    const MilModel &studentHead() const { return *m_studentHead; }
    std::int64_t steps() const { return m_steps; }
    double confidenceBeta() const { return m_beta; }
    const DistillationConfig &config() const { return m_config; }

private:
    void studentToTraining();
    // |2 a - 1|^beta of the teacher's attention a, normalised over the global batch; undefined
    // for an empty shard.
    torch::Tensor batchConfidenceWeights(const torch::Tensor &teacherEmbedding, std::int64_t rows);

    DistillationConfig m_config;
    double m_beta = 0.0;
    std::unique_ptr<Embedder> m_teacher;
    std::unique_ptr<Embedder> m_student;
    std::shared_ptr<MilModel> m_teacherHead;
    std::shared_ptr<MilModel> m_studentHead;
    std::unique_ptr<torch::optim::Adam> m_optimiser;
    at::Generator m_generator;
    DistributedGroup *m_group = nullptr;
    std::vector<torch::Tensor> m_trainable;
    std::int64_t m_attentionTiers = -1; // the teacher's attention networks; -1: not yet known
    std::int64_t m_steps = 0;
};

} // namespace icmil::engine
