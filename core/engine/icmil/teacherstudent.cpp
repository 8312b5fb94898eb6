// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/icmil/teacherstudent.h"

#include "engine/distributed/distributedgroup.h"
#include "engine/runtime/autocastscope.h"
#include "engine/engineerror.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

namespace icmil::engine {

namespace {

namespace F = torch::nn::functional;

// KLDivLoss(reduction='none')(log_softmax(q), p): p (log p - log q) per element, 0 where p is 0.
torch::Tensor klPerElement(const torch::Tensor &studentLogits, const torch::Tensor &targetProbabilities)
{
    return F::kl_div(torch::log_softmax(studentLogits, -1), targetProbabilities, F::KLDivFuncOptions().reduction(torch::kNone));
}

// softmax(teacher logits), with each row whose class is known (knownClass >= 0) replaced by
// that class's one-hot vector.
torch::Tensor instanceTargets(const torch::Tensor &teacherLogits, const torch::Tensor &knownClass)
{
    torch::Tensor targets = torch::softmax(teacherLogits.detach(), -1);
    if (!knownClass.defined())
        return targets;
    const torch::Tensor known = knownClass.to(targets.device(), torch::kLong);
    if (known.dim() != 1 || known.size(0) != targets.size(0))
        throw EngineError("Known instance classes: expected one per patch (" + std::to_string(targets.size(0)) + ")");
    const std::int64_t classes = targets.size(1);
    if (known.numel() > 0 && known.max().item<std::int64_t>() >= classes)
        throw EngineError("Known instance class out of range: the instance head has " + std::to_string(classes) + " classes");
    const torch::Tensor isKnown = known.ge(0).unsqueeze(1);
    const torch::Tensor oneHot = torch::one_hot(known.clamp_min(0), classes).to(targets.dtype());
    return torch::where(isKnown, oneHot, targets);
}

double referenceBeta(MilModelType type)
{
    return type == MilModelType::Dtfd ? 2.0 : 6.0; // BETA in the confidence_based branch's scripts
}

void freeze(torch::nn::Module &module)
{
    for (torch::Tensor &parameter : module.parameters())
        parameter.set_requires_grad(false);
    module.eval();
}

} // namespace

DistillationTerms distillationLoss(const torch::Tensor &teacherLogits, const torch::Tensor &teacherEmbedding,
                                   const torch::Tensor &studentLogits, const torch::Tensor &consistencyLogits,
                                   const torch::Tensor &consistencyEmbedding, const torch::Tensor &weights, const torch::Tensor &knownClass)
{
    DistillationTerms terms;
    const torch::Tensor targets = instanceTargets(teacherLogits, knownClass);
    torch::Tensor perElement = klPerElement(studentLogits, targets);
    if (weights.defined())
        perElement = perElement * weights.unsqueeze(1);
    terms.student = perElement.mean();
    terms.consistency = klPerElement(consistencyLogits, targets).mean();
    terms.embedding = klPerElement(consistencyEmbedding, torch::softmax(teacherEmbedding.detach(), -1)).mean();
    terms.total = terms.student + 0.5 * terms.consistency + 0.5 * terms.embedding;
    return terms;
}

torch::Tensor confidenceWeights(const torch::Tensor &normalisedAttention, double beta)
{
    // abs() first: the reference's abs((2a - 1) ** beta) is the same for integer beta and would
    // be NaN for a fractional one.
    return (2.0 * normalisedAttention - 1.0).abs().pow(beta);
}

TeacherStudentDistiller::TeacherStudentDistiller(const Embedder &embedder, const MilModel &classifier, DistillationConfig config,
                                                 DistributedGroup *group)
    : m_config(config), m_generator(at::make_generator<at::CPUGeneratorImpl>(config.seed)), m_group(group)
{
    if (classifier.config().inputDim != embedder.featureDim())
        throw EngineError("The bag classifier takes " + std::to_string(classifier.config().inputDim)
                          + " features per patch but the embedder '" + embedder.name() + "' gives "
                          + std::to_string(embedder.featureDim()));
    if (config.confidenceWeighted && classifier.config().type == MilModelType::MaxPool)
        throw EngineError("Confidence-based fine-tuning weighs patches by attention, and a MaxPool classifier has none: use ABMIL or "
                          "DTFD-MIL, or turn confidence weighting off");
    if (!(config.learningRate > 0.0) || config.weightDecay < 0.0 || config.confidenceBeta < 0.0 || !(config.teacherTemperature > 0.0))
        throw EngineError("Fine-tuning needs a positive learning rate and teacher temperature, and a weight decay and beta >= 0");
    m_beta = config.confidenceBeta > 0.0 ? config.confidenceBeta : referenceBeta(classifier.config().type);
    drawAugmentation(embedder.inputSize(), config.augmentation, m_generator); // checks the config
    m_generator.set_current_seed(config.seed);

    const torch::Device device = embedder.device();
    m_teacher = embedder.clone();
    for (torch::Tensor &parameter : m_teacher->parameters())
        parameter.set_requires_grad(false);
    m_teacher->setTraining(false);
    m_student = embedder.clone();
    for (torch::Tensor &parameter : m_student->parameters())
        parameter.set_requires_grad(true);
    studentToTraining();

    m_teacherHead = copyMilModel(classifier);
    m_teacherHead->to(device);
    freeze(*m_teacherHead);
    m_studentHead = copyMilModel(classifier);
    m_studentHead->to(device);
    m_studentHead->train();

    m_trainable = m_student->parameters();
    for (const auto &head : {m_studentHead->dimReduction()->parameters(), m_studentHead->instanceClassifier()->parameters()})
        for (const torch::Tensor &parameter : head) {
            parameter.set_requires_grad(true);
            m_trainable.push_back(parameter);
        }
    m_optimiser = std::make_unique<torch::optim::Adam>(m_trainable,
                                                       torch::optim::AdamOptions(config.learningRate).weight_decay(config.weightDecay));
}

TeacherStudentDistiller::~TeacherStudentDistiller() = default;

void TeacherStudentDistiller::studentToTraining()
{
    m_student->setTraining(true);
    if (m_config.freezeBatchNorm)
        m_student->setBatchNormTraining(false);
    if (m_studentHead)
        m_studentHead->train();
}

torch::Tensor TeacherStudentDistiller::batchConfidenceWeights(const torch::Tensor &teacherEmbedding, std::int64_t rows)
{
    // Each attention network's scores, min-max normalised over the whole batch (every rank's
    // rows), multiplied: MilModel::normalisedInstanceAttention on the global batch.
    std::vector<torch::Tensor> scores;
    if (rows > 0)
        for (const torch::Tensor &tier : m_teacherHead->instanceAttentionScores(teacherEmbedding))
            scores.push_back(tier.to(torch::kFloat));
    if (m_attentionTiers < 0) { // how many attention networks: once (a rank may have no rows)
        m_attentionTiers = static_cast<std::int64_t>(scores.size());
        if (m_group) {
            torch::Tensor count = torch::full({1}, static_cast<double>(m_attentionTiers), torch::kDouble);
            m_group->allReduce(count, DistributedGroup::Reduction::Max, "attention tiers");
            m_attentionTiers = static_cast<std::int64_t>(count.item<double>());
        }
    }
    // Each tier's minimum and negated maximum in one tensor: one all-reduce (min) for both.
    torch::Tensor range = torch::full({2 * m_attentionTiers}, std::numeric_limits<float>::infinity(), torch::kFloat);
    for (std::size_t k = 0; k < scores.size(); ++k) {
        range[static_cast<std::int64_t>(k)] = scores[k].min().cpu();
        range[m_attentionTiers + static_cast<std::int64_t>(k)] = -scores[k].max().cpu();
    }
    if (m_group)
        m_group->allReduce(range, DistributedGroup::Reduction::Min, "attention range");
    const torch::Tensor lows = range.narrow(0, 0, m_attentionTiers);
    const torch::Tensor highs = -range.narrow(0, m_attentionTiers, m_attentionTiers);
    torch::Tensor product;
    for (std::size_t k = 0; k < scores.size(); ++k) {
        const auto at = static_cast<std::int64_t>(k);
        const torch::Device device = scores[k].device();
        const torch::Tensor normalised = minMaxNormalise(scores[k], lows[at].to(device), highs[at].to(device));
        product = product.defined() ? product * normalised : normalised;
    }
    return product.defined() ? confidenceWeights(product, m_beta) : product;
}

DistillationLosses TeacherStudentDistiller::step(const torch::Tensor &patches, const torch::Tensor &knownClass, BatchShard shard)
{
    const torch::Device device = m_student->device();
    const bool mixed = m_config.mixedPrecision && device.is_cuda();
    const torch::Tensor plain = patches.to(device);
    const std::int64_t rows = plain.size(0);
    const std::int64_t total = shard.total(rows);
    const torch::Tensor augmented = augmentPatches(plain, m_config.augmentation, m_generator, nullptr, shard);

    torch::Tensor teacherFeatures, teacherEmbedding, teacherLogits, weights;
    if (rows > 0) {
        torch::NoGradGuard noGrad;
        AutocastScope autocast(device, mixed, c10::kBFloat16);
        teacherFeatures = m_teacher->forward(plain);
        teacherEmbedding = m_teacherHead->embed(teacherFeatures);
        teacherLogits = m_teacherHead->instanceClassifier()(teacherEmbedding) / m_config.teacherTemperature;
    }
    if (m_config.confidenceWeighted) {
        torch::NoGradGuard noGrad;
        AutocastScope autocast(device, mixed, c10::kBFloat16);
        weights = batchConfidenceWeights(teacherEmbedding, rows);
    }
    studentToTraining();
    DistillationTerms terms;
    // The four terms (total first) of the global batch: this rank's means weighted by its share.
    torch::Tensor values = torch::zeros({4}, torch::kDouble);
    const double share = static_cast<double>(rows) / static_cast<double>(std::max<std::int64_t>(1, total));
    if (rows > 0) {
        AutocastScope autocast(device, mixed, c10::kBFloat16);
        const torch::Tensor studentLogits = m_studentHead->instanceClassifier()(m_studentHead->embed(m_student->forward(augmented)));
        const torch::Tensor consistencyEmbedding = m_studentHead->embed(teacherFeatures);
        const torch::Tensor consistencyLogits = m_studentHead->instanceClassifier()(consistencyEmbedding);
        terms = distillationLoss(teacherLogits.to(torch::kFloat), teacherEmbedding.to(torch::kFloat), studentLogits.to(torch::kFloat),
                                 consistencyLogits.to(torch::kFloat), consistencyEmbedding.to(torch::kFloat), weights, knownClass);
        values = torch::stack({terms.total, terms.student, terms.consistency, terms.embedding}).detach().to(torch::kCPU, torch::kDouble);
        if (m_group)
            values *= share;
    }
    if (m_group)
        m_group->allReduceSum(values, "fine-tuning loss");
    const auto value = values.accessor<double, 1>();
    DistillationLosses losses;
    losses.total = value[0];
    if (!std::isfinite(losses.total)) {
        std::ostringstream message;
        message << "Fine-tuning diverged: the loss is " << losses.total << " at step " << m_steps + 1
                << " (try a lower learning rate, or turn mixed precision off)";
        throw EngineError(message.str());
    }
    losses.student = value[1];
    losses.consistency = value[2];
    losses.embedding = value[3];

    m_optimiser->zero_grad();
    if (rows > 0)
        (m_group ? terms.total * share : terms.total).backward();
    if (m_group)
        m_group->allReduceGradients(m_trainable, "fine-tuning gradients");
    if (m_config.gradientClip > 0.0) {
        torch::nn::utils::clip_grad_norm_(m_studentHead->dimReduction()->parameters(), m_config.gradientClip);
        torch::nn::utils::clip_grad_norm_(m_studentHead->instanceClassifier()->parameters(), m_config.gradientClip);
    }
    m_optimiser->step();
    ++m_steps;
    return losses;
}

void TeacherStudentDistiller::evaluate(const torch::Tensor &patches, at::Generator &generator, DistillationAgreement &into,
                                       BatchShard shard)
{
    const torch::Device device = m_student->device();
    const bool mixed = m_config.mixedPrecision && device.is_cuda();
    torch::NoGradGuard noGrad;
    const torch::Tensor plain = patches.to(device);
    const torch::Tensor augmented = augmentPatches(plain, m_config.augmentation, generator, nullptr, shard);
    if (plain.size(0) == 0)
        return;
    m_student->setTraining(false);
    m_studentHead->eval();
    torch::Tensor teacher, student;
    {
        AutocastScope autocast(device, mixed, c10::kBFloat16);
        teacher = m_teacherHead->instanceLogits(m_teacher->forward(plain)) / m_config.teacherTemperature;
        student = m_studentHead->instanceLogits(m_student->forward(augmented));
    }
    studentToTraining();
    const torch::Tensor teacherProbability = torch::softmax(teacher.to(torch::kFloat), -1);
    const torch::Tensor studentProbability = torch::softmax(student.to(torch::kFloat), -1);
    into.absoluteErrorSum += (studentProbability - teacherProbability).abs().sum().item<double>();
    into.elements += teacherProbability.numel();
    into.patches += teacherProbability.size(0);
    into.agreeing += teacherProbability.argmax(1).eq(studentProbability.argmax(1)).sum().item<std::int64_t>();
}

void TeacherStudentDistiller::reduceAgreement(DistillationAgreement &agreement)
{
    if (!m_group)
        return;
    torch::Tensor sums = torch::tensor({agreement.absoluteErrorSum, static_cast<double>(agreement.elements),
                                        static_cast<double>(agreement.patches), static_cast<double>(agreement.agreeing)},
                                       torch::kDouble);
    m_group->allReduceSum(sums, "fine-tuning validation");
    const auto sum = sums.accessor<double, 1>();
    agreement.absoluteErrorSum = sum[0];
    agreement.elements = static_cast<std::int64_t>(std::llround(sum[1]));
    agreement.patches = static_cast<std::int64_t>(std::llround(sum[2]));
    agreement.agreeing = static_cast<std::int64_t>(std::llround(sum[3]));
}

} // namespace icmil::engine
