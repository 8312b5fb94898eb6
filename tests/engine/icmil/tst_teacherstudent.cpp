// SPDX-License-Identifier: GPL-3.0-or-later
// ICMIL step 2: the frozen teacher, the student that learns, the reference's loss by hand, the
// confidence weights, determinism, divergence and the validation agreement.

#include "engine/mil/abmil.h"
#include "engine/embedders/embedder.h"
#include "engine/engineerror.h"
#include "engine/mil/milmodel.h"
#include "engine/icmil/teacherstudent.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>

#include "enginecheck.h"

using namespace icmil::engine;

namespace {

std::unique_ptr<Embedder> tinyCnn(std::uint64_t seed = 3)
{
    EmbedderConfig config;
    config.name = "tiny-cnn";
    config.seed = seed;
    return makeEmbedder(config);
}

std::shared_ptr<MilModel> head(MilModelType type, std::int64_t inputDim = 128)
{
    MilModelConfig config;
    config.type = type;
    config.inputDim = inputDim;
    config.embedDim = 16;
    config.attentionDim = 8;
    config.seed = 5;
    return makeMilModel(config);
}

torch::Tensor batch(std::int64_t n, std::uint64_t seed = 11)
{
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return torch::rand({n, 3, 64, 64}, generator);
}

std::vector<torch::Tensor> snapshot(const std::vector<torch::Tensor> &tensors)
{
    std::vector<torch::Tensor> copies;
    for (const torch::Tensor &t : tensors)
        copies.push_back(t.detach().clone());
    return copies;
}

bool same(const std::vector<torch::Tensor> &a, const std::vector<torch::Tensor> &b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!torch::equal(a[i], b[i]))
            return false;
    return true;
}

double kl(const std::vector<double> &studentLogits, const std::vector<double> &teacherLogits, std::size_t i)
{
    auto softmax = [](const std::vector<double> &x) {
        double sum = 0.0;
        for (double v : x)
            sum += std::exp(v);
        std::vector<double> p;
        for (double v : x)
            p.push_back(std::exp(v) / sum);
        return p;
    };
    const std::vector<double> p = softmax(teacherLogits);
    const std::vector<double> q = softmax(studentLogits);
    return p[i] * (std::log(p[i]) - std::log(q[i]));
}

} // namespace

ENGINE_TEST(teacherIsFrozenAndStudentLearns)
{
    torch::manual_seed(1);
    auto embedder = tinyCnn();
    auto classifier = head(MilModelType::Abmil);
    TeacherStudentDistiller distiller(*embedder, *classifier, {});
    const auto teacherBefore = snapshot(const_cast<Embedder &>(distiller.teacher()).parameters());
    const auto studentBefore = snapshot(distiller.student().parameters());
    const auto headBefore = snapshot(distiller.studentHead().parameters());
    const auto originalBefore = snapshot(embedder->parameters());
    const auto classifierBefore = snapshot(classifier->parameters());

    const DistillationLosses losses = distiller.step(batch(8));
    CHECK(std::isfinite(losses.total));
    CHECK_NEAR(losses.total, losses.student + 0.5 * losses.consistency + 0.5 * losses.embedding, 1e-6);
    CHECK(same(teacherBefore, const_cast<Embedder &>(distiller.teacher()).parameters()));
    CHECK(!same(studentBefore, distiller.student().parameters()));
    CHECK(!same(headBefore, distiller.studentHead().parameters()));
    // The embedder and the classifier it was built from are copies' sources, never changed.
    CHECK(same(originalBefore, embedder->parameters()));
    CHECK(same(classifierBefore, classifier->parameters()));
    CHECK_EQ(distiller.steps(), std::int64_t{1});
}

ENGINE_TEST(batchNormIsFrozenUnlessAsked)
{
    auto embedder = tinyCnn();
    // The student's eval-mode output on a fixed probe: with the weights held still (a learning
    // rate of 1e-30), only the batch-norm running statistics can change it.
    auto evalOutput = [](Embedder &e) {
        torch::NoGradGuard noGrad;
        const torch::Tensor probe = torch::full({2, 3, 64, 64}, 0.5f);
        e.setTraining(false);
        return e.forward(probe).clone();
    };
    for (bool freeze : {true, false}) {
        DistillationConfig config;
        config.freezeBatchNorm = freeze;
        TeacherStudentDistiller distiller(*embedder, *head(MilModelType::Abmil), config);
        const torch::Tensor before = evalOutput(distiller.student());
        config.learningRate = 1e-30;
        TeacherStudentDistiller still(*embedder, *head(MilModelType::Abmil), config);
        still.step(batch(8));
        const torch::Tensor after = evalOutput(still.student());
        CHECK_EQ(torch::allclose(before, after, 1e-6, 1e-6), freeze);
    }
}

ENGINE_TEST(lossEqualsTheReferenceFormulaByHand)
{
    // Two patches, two classes, a 3-wide embedding.
    const std::vector<std::vector<double>> teacher{{0.2, -0.4}, {1.0, 0.5}};
    const std::vector<std::vector<double>> student{{0.0, 0.3}, {-0.2, 0.8}};
    const std::vector<std::vector<double>> consistency{{0.1, -0.1}, {0.7, 0.2}};
    const std::vector<std::vector<double>> teacherEmbedding{{0.5, 0.1, -0.3}, {0.0, 0.2, 0.4}};
    const std::vector<std::vector<double>> consistencyEmbedding{{0.4, 0.0, -0.1}, {0.3, 0.1, 0.2}};
    auto tensor = [](const std::vector<std::vector<double>> &rows) {
        std::vector<float> flat;
        for (const auto &row : rows)
            for (double v : row)
                flat.push_back(static_cast<float>(v));
        return torch::tensor(flat).reshape({static_cast<std::int64_t>(rows.size()), -1});
    };
    const std::vector<double> weights{0.25, 1.0};

    double loss0 = 0.0, loss0Weighted = 0.0, loss1 = 0.0, loss2 = 0.0;
    for (std::size_t n = 0; n < 2; ++n) {
        for (std::size_t c = 0; c < 2; ++c) {
            loss0 += kl(student[n], teacher[n], c) / 4.0;
            loss0Weighted += weights[n] * kl(student[n], teacher[n], c) / 4.0;
            loss1 += kl(consistency[n], teacher[n], c) / 4.0;
        }
        for (std::size_t m = 0; m < 3; ++m)
            loss2 += kl(consistencyEmbedding[n], teacherEmbedding[n], m) / 6.0;
    }
    const DistillationTerms plain
        = distillationLoss(tensor(teacher), tensor(teacherEmbedding), tensor(student), tensor(consistency), tensor(consistencyEmbedding));
    CHECK_NEAR(plain.student.item<double>(), loss0, 1e-7);
    CHECK_NEAR(plain.consistency.item<double>(), loss1, 1e-7);
    CHECK_NEAR(plain.embedding.item<double>(), loss2, 1e-7);
    CHECK_NEAR(plain.total.item<double>(), loss0 + 0.5 * loss1 + 0.5 * loss2, 1e-7);

    const DistillationTerms weighted = distillationLoss(tensor(teacher), tensor(teacherEmbedding), tensor(student), tensor(consistency),
                                                        tensor(consistencyEmbedding), torch::tensor({0.25f, 1.0f}));
    CHECK_NEAR(weighted.student.item<double>(), loss0Weighted, 1e-7);
    CHECK_NEAR(weighted.total.item<double>(), loss0Weighted + 0.5 * loss1 + 0.5 * loss2, 1e-7);
}

ENGINE_TEST(confidenceWeightsFollowTheAttention)
{
    const torch::Tensor a = torch::tensor({0.0f, 0.5f, 1.0f, 0.25f});
    const torch::Tensor w = confidenceWeights(a, 2.0);
    CHECK(torch::allclose(w, torch::tensor({1.0f, 0.0f, 1.0f, 0.25f})));
    // A fractional beta is |2a - 1|^beta, never NaN.
    const torch::Tensor fractional = confidenceWeights(a, 0.5);
    CHECK(!fractional.isnan().any().item<bool>());
    CHECK_NEAR(fractional[3].item<double>(), std::sqrt(0.5), 1e-6);

    // ABMIL: the raw attention, min-max normalised over the batch; equal scores give 0, not NaN.
    auto abmil = head(MilModelType::Abmil, 24);
    const torch::Tensor h = abmil->embed(torch::randn({6, 24}));
    const torch::Tensor n = abmil->normalisedInstanceAttention(h);
    CHECK_NEAR(n.min().item<double>(), 0.0, 1e-7);
    CHECK_NEAR(n.max().item<double>(), 1.0, 1e-6);
    CHECK(torch::equal(minMaxNormalise(torch::full({3}, 2.0f)), torch::zeros({3})));
    // MaxPool has no attention.
    CHECK(!head(MilModelType::MaxPool, 24)->normalisedInstanceAttention(h).defined());
    auto embedder = tinyCnn();
    DistillationConfig config;
    config.confidenceWeighted = true;
    CHECK_THROWS_MESSAGE(TeacherStudentDistiller(*embedder, *head(MilModelType::MaxPool), config),
                         "Confidence-based fine-tuning weighs patches by attention, and a MaxPool classifier has none: use ABMIL or "
                         "DTFD-MIL, or turn confidence weighting off");
    CHECK_EQ(TeacherStudentDistiller(*embedder, *head(MilModelType::Abmil), config).confidenceBeta(), 6.0);
    CHECK_EQ(TeacherStudentDistiller(*embedder, *head(MilModelType::Dtfd), config).confidenceBeta(), 2.0);
    config.confidenceBeta = 3.0;
    TeacherStudentDistiller weightedDistiller(*embedder, *head(MilModelType::Dtfd), config);
    CHECK(std::isfinite(weightedDistiller.step(batch(6)).total));
}

ENGINE_TEST(dtfdTeachesWithTier2sClassifier)
{
    // The reference loads DTFD-MIL's att_classifier.classifier as the instance classifier.
    auto dtfd = head(MilModelType::Dtfd, 24);
    const torch::Tensor x = torch::randn({4, 24});
    const auto parameters = dtfd->named_parameters();
    const torch::Tensor expected = torch::addmm(parameters["att_classifier.classifier.fc.bias"], dtfd->embed(x),
                                                parameters["att_classifier.classifier.fc.weight"].t());
    CHECK(torch::allclose(dtfd->instanceLogits(x), expected, 1e-6, 1e-6));
}

ENGINE_TEST(copiesAreDeepAndEqual)
{
    auto model = head(MilModelType::Dtfd, 24);
    model->eval();
    auto copy = copyMilModel(*model);
    CHECK(!copy->is_training());
    const torch::Tensor x = torch::randn({7, 24});
    CHECK(torch::equal(model->forward(x).logits, copy->forward(x).logits));
    {
        torch::NoGradGuard noGrad;
        copy->named_parameters()["dim_reduction.fc1.weight"].add_(1.0);
    }
    CHECK(!torch::equal(model->forward(x).logits, copy->forward(x).logits));
}

ENGINE_TEST(sameSeedSameRun)
{
    auto embedder = tinyCnn();
    auto classifier = head(MilModelType::Abmil);
    DistillationConfig config;
    config.seed = 42;
    TeacherStudentDistiller a(*embedder, *classifier, config);
    TeacherStudentDistiller b(*embedder, *classifier, config);
    for (int step = 0; step < 2; ++step) {
        const torch::Tensor input = batch(6, 100 + step);
        CHECK_EQ(a.step(input).total, b.step(input).total);
    }
    CHECK(same(a.student().parameters(), b.student().parameters()));
    config.seed = 43;
    TeacherStudentDistiller c(*embedder, *classifier, config);
    c.step(batch(6, 100));
    c.step(batch(6, 101));
    CHECK(!same(a.student().parameters(), c.student().parameters()));
}

ENGINE_TEST(aNonFiniteLossStopsWithWeightsUnchanged)
{
    auto embedder = tinyCnn();
    TeacherStudentDistiller distiller(*embedder, *head(MilModelType::Abmil), {});
    const auto before = snapshot(distiller.student().parameters());
    torch::Tensor poisoned = batch(4);
    poisoned.fill_(std::numeric_limits<float>::quiet_NaN());
    std::string message;
    try {
        distiller.step(poisoned);
    } catch (const EngineError &error) {
        message = error.what();
    }
    CHECK_EQ(message.rfind("Fine-tuning diverged: the loss is ", 0), std::size_t{0});
    CHECK(message.find(" at step 1 (try a lower learning rate, or turn mixed precision off)") != std::string::npos);
    CHECK(same(before, distiller.student().parameters()));
    CHECK_EQ(distiller.steps(), std::int64_t{0});
}

ENGINE_TEST(agreementIsExactBeforeTrainingWithoutAugmentation)
{
    auto embedder = tinyCnn();
    DistillationConfig config;
    config.augmentation.horizontalFlipProbability = 0.0;
    config.augmentation.verticalFlipProbability = 0.0;
    config.augmentation.minScale = 1.0;
    config.augmentation.minRatio = config.augmentation.maxRatio = 1.0;
    TeacherStudentDistiller distiller(*embedder, *head(MilModelType::Abmil), config);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
    DistillationAgreement agreement;
    distiller.evaluate(batch(10), generator, agreement);
    CHECK_EQ(agreement.patches, std::int64_t{10});
    CHECK_EQ(agreement.elements, std::int64_t{20});
    CHECK(agreement.meanAbsoluteError() < 1e-5);
    CHECK_EQ(agreement.accuracy(), 1.0);
    // evaluate() leaves the student training.
    const auto before = snapshot(distiller.student().parameters());
    distiller.step(batch(4));
    CHECK(!same(before, distiller.student().parameters()));
}

ENGINE_TEST(teacherTemperatureSharpensTheTargets)
{
    // Without augmentation the student starts as its teacher: soft targets (T = 1) give no
    // loss, sharpened ones (T = 0.25) the KL divergence from softmax(teacher / T), by hand.
    auto embedder = tinyCnn();
    auto classifier = head(MilModelType::Abmil);
    {
        torch::NoGradGuard noGrad;
        for (auto &parameter : classifier->named_parameters())
            if (parameter.key().rfind("classifier.", 0) == 0)
                parameter.value().mul_(20.0);
    }
    DistillationConfig config;
    config.augmentation.horizontalFlipProbability = 0.0;
    config.augmentation.verticalFlipProbability = 0.0;
    config.augmentation.minScale = 1.0;
    config.augmentation.minRatio = config.augmentation.maxRatio = 1.0;
    const torch::Tensor input = 0.7 + 0.2 * batch(6);
    TeacherStudentDistiller soft(*embedder, *classifier, config);
    const double softLoss = soft.step(input).student;
    CHECK(softLoss < 1e-7); // float rounding only

    config.teacherTemperature = 0.25;
    TeacherStudentDistiller sharp(*embedder, *classifier, config);
    torch::Tensor logits;
    {
        torch::NoGradGuard noGrad;
        logits = classifier->instanceLogits(embedder->forward(input)).to(torch::kDouble);
    }
    double expected = 0.0;
    for (std::int64_t n = 0; n < logits.size(0); ++n) {
        const std::vector<double> s = {logits[n][0].item<double>(), logits[n][1].item<double>()};
        const std::vector<double> t = {s[0] / 0.25, s[1] / 0.25};
        expected += kl(s, t, 0) + kl(s, t, 1);
    }
    expected /= static_cast<double>(logits.numel());
    auto generator = at::make_generator<at::CPUGeneratorImpl>(7);
    DistillationAgreement agreement;
    sharp.evaluate(input, generator, agreement);
    CHECK(agreement.meanAbsoluteError() > 1e-3); // the student is compared with the sharpened teacher
    CHECK_EQ(agreement.accuracy(), 1.0);         // whose argmax is the teacher's
    const DistillationLosses losses = sharp.step(input);
    CHECK(expected > 1e-4);
    CHECK_NEAR(losses.student, expected, 1e-5 + 1e-4 * expected);
}

ENGINE_TEST(knownClassesReplaceTheTeachersTargets)
{
    // Patch 0's class is known (1), patch 1's is not (-1): loss0 and loss1 compare patch 0 with
    // the one-hot target (KL = -log q of the known class) and patch 1 with the teacher; loss2,
    // the embeddings', is unchanged.
    const torch::Tensor teacher = torch::tensor({0.2f, -0.4f, 1.0f, 0.5f}).reshape({2, 2});
    const torch::Tensor student = torch::tensor({0.0f, 0.3f, -0.2f, 0.8f}).reshape({2, 2});
    const torch::Tensor consistency = torch::tensor({0.1f, -0.1f, 0.7f, 0.2f}).reshape({2, 2});
    const torch::Tensor embedding = torch::tensor({0.5f, 0.1f, -0.3f, 0.0f, 0.2f, 0.4f}).reshape({2, 3});
    const torch::Tensor consistencyEmbedding = torch::tensor({0.4f, 0.0f, -0.1f, 0.3f, 0.1f, 0.2f}).reshape({2, 3});
    auto logSoftmax = [](const std::vector<double> &x, std::size_t i) { return x[i] - std::log(std::exp(x[0]) + std::exp(x[1])); };
    const double loss0 = (-logSoftmax({0.0, 0.3}, 1) + kl({-0.2, 0.8}, {1.0, 0.5}, 0) + kl({-0.2, 0.8}, {1.0, 0.5}, 1)) / 4.0;
    const double loss1 = (-logSoftmax({0.1, -0.1}, 1) + kl({0.7, 0.2}, {1.0, 0.5}, 0) + kl({0.7, 0.2}, {1.0, 0.5}, 1)) / 4.0;
    const torch::Tensor known = torch::tensor({1, -1}, torch::kLong);
    const DistillationTerms terms = distillationLoss(teacher, embedding, student, consistency, consistencyEmbedding, {}, known);
    const DistillationTerms plain = distillationLoss(teacher, embedding, student, consistency, consistencyEmbedding);
    CHECK_NEAR(terms.student.item<double>(), loss0, 1e-6);
    CHECK_NEAR(terms.consistency.item<double>(), loss1, 1e-6);
    CHECK_NEAR(terms.embedding.item<double>(), plain.embedding.item<double>(), 1e-9);
    // Nothing known: exactly the teacher's targets.
    const DistillationTerms none
        = distillationLoss(teacher, embedding, student, consistency, consistencyEmbedding, {}, torch::tensor({-1, -1}, torch::kLong));
    CHECK_NEAR(none.total.item<double>(), plain.total.item<double>(), 1e-9);

    CHECK_THROWS_MESSAGE(distillationLoss(teacher, embedding, student, consistency, consistencyEmbedding, {}, torch::tensor({2, -1})),
                         "Known instance class out of range: the instance head has 2 classes");
    CHECK_THROWS_MESSAGE(distillationLoss(teacher, embedding, student, consistency, consistencyEmbedding, {}, torch::tensor({0})),
                         "Known instance classes: expected one per patch (2)");
}

ENGINE_TEST(knownNegativePatchesAreTaughtTheirClass)
{
    // A student taught that every patch of a batch is class 0 moves its instance prediction
    // towards class 0, away from its teacher's; taught by the teacher alone it stays with it.
    auto embedder = tinyCnn();
    DistillationConfig config;
    config.learningRate = 1e-3;
    auto classifier = head(MilModelType::Abmil);
    const torch::Tensor input = batch(16);
    auto classZero = [&](TeacherStudentDistiller &distiller) {
        torch::NoGradGuard noGrad;
        distiller.student().setTraining(false);
        return torch::softmax(distiller.studentHead().instanceLogits(distiller.student().forward(input)), 1)
            .select(1, 0)
            .mean()
            .item<double>();
    };
    TeacherStudentDistiller taught(*embedder, *classifier, config);
    TeacherStudentDistiller copying(*embedder, *classifier, config);
    const double before = classZero(taught);
    CHECK(before < 0.95);
    for (int i = 0; i < 10; ++i) {
        taught.step(input, torch::zeros({16}, torch::kLong));
        copying.step(input);
    }
    CHECK(classZero(taught) > before + 0.05);
    CHECK(std::abs(classZero(copying) - before) < std::abs(classZero(taught) - before));
}

ENGINE_TEST(repeatedStepsLowerTheLossOnABatch)
{
    // With the reference's train-mode batch norm, a randomly initialised student (batch
    // statistics) starts far from its teacher (running statistics): a gap the steps close.
    auto embedder = tinyCnn();
    DistillationConfig config;
    config.learningRate = 1e-3;
    config.freezeBatchNorm = false;
    config.augmentation.horizontalFlipProbability = 0.0;
    config.augmentation.verticalFlipProbability = 0.0;
    config.augmentation.minScale = 1.0;
    config.augmentation.minRatio = config.augmentation.maxRatio = 1.0;
    // A confident head (its classifier scaled up, as a trained one is) makes the gap show.
    auto classifier = head(MilModelType::Abmil);
    {
        torch::NoGradGuard noGrad;
        for (auto &parameter : classifier->named_parameters())
            if (parameter.key().rfind("classifier.", 0) == 0)
                parameter.value().mul_(50.0);
    }
    TeacherStudentDistiller distiller(*embedder, *classifier, config);
    // Bright, nearly flat patches (as slide background and tissue are, unlike uniform noise):
    // their activations are far from the initial running statistics.
    const torch::Tensor input = 0.7 + 0.2 * batch(16);
    const double first = distiller.step(input).total;
    double last = first;
    for (int i = 0; i < 20; ++i)
        last = distiller.step(input).total;
    CHECK(first > 1e-5); // measured 7.9e-5 -> 1.8e-6

    CHECK(last < 0.5 * first);
}

ENGINE_TEST(errorsAreOneSentence)
{
    auto embedder = tinyCnn();
    CHECK_THROWS_MESSAGE(TeacherStudentDistiller(*embedder, *head(MilModelType::Abmil, 1024), {}),
                         "The bag classifier takes 1024 features per patch but the embedder 'tiny-cnn' gives 128");
    DistillationConfig config;
    config.learningRate = 0.0;
    CHECK_THROWS_MESSAGE(TeacherStudentDistiller(*embedder, *head(MilModelType::Abmil), config),
                         "Fine-tuning needs a positive learning rate and teacher temperature, and a weight decay and beta >= 0");
    config.learningRate = 1e-5;
    config.teacherTemperature = 0.0;
    CHECK_THROWS_MESSAGE(TeacherStudentDistiller(*embedder, *head(MilModelType::Abmil), config),
                         "Fine-tuning needs a positive learning rate and teacher temperature, and a weight decay and beta >= 0");
}
