// SPDX-License-Identifier: GPL-3.0-or-later
// Bag-classifier training: learns an easy synthetic task, is deterministic for a seed, resumes
// exactly, cancels, stops early, follows the reference's learning-rate schedule, and refuses bad
// input with a clear error.

#include "engine/mil/bagtrainer.h"
#include "engine/engineerror.h"
#include "engine/mil/milcheckpoint.h"
#include "engine/torchfile/statedictloader.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>

#include "enginecheck.h"

using namespace icmil::engine;

namespace {

constexpr int kDim = 32;

// Negative bags: N(0, 1) instances. Positive bags: the same, with 10-25% "tumour" instances
// shifted by +1.5 in the first 8 dimensions (the witness rate of a small metastasis).
std::vector<Bag> syntheticBags(int count, std::uint64_t seed)
{
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::vector<Bag> bags;
    for (int i = 0; i < count; ++i) {
        const int label = i % 2;
        const std::int64_t n = 20 + torch::randint(40, {1}, generator).item<std::int64_t>();
        torch::Tensor features = torch::randn({n, kDim}, generator);
        if (label == 1) {
            const std::int64_t positives = std::max<std::int64_t>(2, n * (10 + i % 16) / 100);
            features.slice(0, 0, positives).slice(1, 0, 8) += 1.5;
        }
        bags.push_back({"bag" + std::to_string(seed) + "_" + std::to_string(i), features, label});
    }
    return bags;
}

MilModelConfig config(MilModelType type)
{
    MilModelConfig c;
    c.type = type;
    c.inputDim = kDim;
    c.embedDim = 32;
    c.attentionDim = 16;
    c.seed = 3;
    return c;
}

BagTrainerConfig trainerConfig(int epochs, double lr = 1e-3)
{
    BagTrainerConfig c;
    c.epochs = epochs;
    c.learningRate = lr;
    c.seed = 5;
    return c;
}

bool sameWeights(const StateDict &a, const StateDict &b)
{
    if (a.keys() != b.keys())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!torch::equal(a.entries()[i].second, b.entries()[i].second))
            return false;
    return true;
}

const std::vector<Bag> &trainSet()
{
    static const auto bags = syntheticBags(40, 1);
    return bags;
}
const std::vector<Bag> &valSet()
{
    static const auto bags = syntheticBags(16, 2);
    return bags;
}
const std::vector<Bag> &testSet()
{
    static const auto bags = syntheticBags(30, 3);
    return bags;
}

} // namespace

ENGINE_TEST(learnsAnEasyTaskWithEveryModel)
{
    for (MilModelType type : {MilModelType::Abmil, MilModelType::MaxPool, MilModelType::Dtfd}) {
        auto model = makeMilModel(config(type));
        BagTrainer trainer(model, trainerConfig(12));
        int epochsSeen = 0;
        const TrainingResult result = trainer.train(trainSet(), valSet(), {[&](const EpochReport &r) { epochsSeen += r.epoch >= 0; }, {}});
        CHECK_EQ(epochsSeen, 12);
        CHECK_EQ(result.history.size(), std::size_t{12});
        CHECK(result.bestEpoch >= 0);
        CHECK(result.history.back().trainLoss < result.history.front().trainLoss);
        const BagSetEvaluation test = evaluateBags(*model, testSet());
        std::cout << "  " << milModelTypeName(type) << ": test AUC " << test.metrics.auc << ", best epoch " << result.bestEpoch + 1 << ", "
                  << result.seconds << " s" << std::endl;
        CHECK(test.metrics.auc >= 0.95);
        // The model holds the best epoch's weights.
        CHECK(sameWeights(makeMilCheckpoint(*model).weights, result.best.weights));
    }
}

ENGINE_TEST(deterministicForASeed)
{
    for (MilModelType type : {MilModelType::Abmil, MilModelType::Dtfd}) {
        auto a = makeMilModel(config(type));
        auto b = makeMilModel(config(type));
        auto c = makeMilModel(config(type));
        BagTrainerConfig other = trainerConfig(2);
        other.seed = 6;
        const TrainingResult ra = BagTrainer(a, trainerConfig(2)).train(trainSet(), valSet());
        const TrainingResult rb = BagTrainer(b, trainerConfig(2)).train(trainSet(), valSet());
        const TrainingResult rc = BagTrainer(c, other).train(trainSet(), valSet());
        CHECK(sameWeights(ra.last.weights, rb.last.weights));
        CHECK(!sameWeights(ra.last.weights, rc.last.weights));
        CHECK_EQ(ra.history[1].trainLoss, rb.history[1].trainLoss);
    }
}

ENGINE_TEST(resumesExactlyFromACheckpoint)
{
    for (MilModelType type : {MilModelType::Abmil, MilModelType::Dtfd}) {
        auto straight = makeMilModel(config(type));
        const TrainingResult whole = BagTrainer(straight, trainerConfig(4)).train(trainSet(), valSet());

        // The same 4-epoch run (DTFD's schedule depends on the epoch count), stopped after epoch 2.
        auto first = makeMilModel(config(type));
        BagTrainer interrupted(first, trainerConfig(4));
        TrainingCallbacks stopAfterTwo;
        stopAfterTwo.epochFinished = [&](const EpochReport &report) {
            if (report.epoch == 1)
                interrupted.cancel();
        };
        const TrainingResult half = interrupted.train(trainSet(), valSet(), stopAfterTwo);
        CHECK_EQ(half.history.size(), std::size_t{2});
        CHECK_EQ(half.last.epoch, 1);
        const std::filesystem::path path = std::filesystem::path(ICMIL_BAGTRAINER_SCRATCH) / ("resume_" + milModelTypeName(type) + ".pth");
        std::filesystem::create_directories(path.parent_path());
        writeMilCheckpoint(path, half.last);
        const MilCheckpoint saved = readMilCheckpoint(path);
        CHECK(!saved.optimizer.empty());

        auto resumed = instantiateMilModel(saved);
        BagTrainerConfig rest = trainerConfig(4);
        rest.startEpoch = 2;
        BagTrainer trainer(resumed, rest);
        trainer.restoreOptimiser(saved);
        const TrainingResult second = trainer.train(trainSet(), valSet());
        CHECK_EQ(second.history.size(), std::size_t{2});
        CHECK_EQ(second.history.front().epoch, 2);
        CHECK_EQ(second.history[0].trainLoss, whole.history[2].trainLoss);
        CHECK(sameWeights(second.last.weights, whole.last.weights));
    }
}

ENGINE_TEST(referenceLearningRatesAndSchedule)
{
    auto abmil = makeMilModel(config(MilModelType::Abmil));
    BagTrainerConfig defaults;
    defaults.epochs = 4;
    CHECK_EQ(BagTrainer(abmil, defaults).baseLearningRate(), 2e-4);
    auto dtfd = makeMilModel(config(MilModelType::Dtfd));
    BagTrainer dtfdTrainer(dtfd, defaults);
    CHECK_EQ(dtfdTrainer.baseLearningRate(), 1e-4);
    const std::vector<Bag> few(trainSet().begin(), trainSet().begin() + 4);
    const TrainingResult result = dtfdTrainer.train(few, {});
    CHECK_EQ(result.history.size(), std::size_t{4});
    CHECK_EQ(result.history[0].learningRates, (std::vector<double>{1e-4, 1e-4})); // two optimisers
    CHECK_EQ(result.history[1].learningRates[0], 1e-4);
    CHECK_NEAR(result.history[2].learningRates[0], 2e-5, 1e-15); // x0.2 at epochs / 2
    CHECK_NEAR(result.history[3].learningRates[1], 2e-5, 1e-15);
    CHECK(result.history[0].tier1Loss > 0.0);
    // Without validation the last epoch is the best.
    CHECK_EQ(result.bestEpoch, 3);
}

ENGINE_TEST(cancelsBetweenBags)
{
    auto model = makeMilModel(config(MilModelType::Abmil));
    BagTrainer trainer(model, trainerConfig(50));
    int bags = 0;
    TrainingCallbacks callbacks;
    callbacks.bagFinished = [&](int, int, int, double) {
        if (++bags == 3)
            trainer.cancel();
    };
    const TrainingResult result = trainer.train(trainSet(), valSet(), callbacks);
    CHECK(result.cancelled);
    CHECK_EQ(bags, 3);
    CHECK(result.history.empty());
}

ENGINE_TEST(stopsEarlyWithoutProgress)
{
    auto model = makeMilModel(config(MilModelType::Abmil));
    BagTrainerConfig c = trainerConfig(20, 1e-12); // too small to change a float weight
    c.earlyStoppingPatience = 3;
    const TrainingResult result = BagTrainer(model, c).train(trainSet(), valSet());
    CHECK(result.stoppedEarly);
    CHECK_EQ(result.history.size(), std::size_t{4});
    CHECK_EQ(result.bestEpoch, 0);
}

ENGINE_TEST(badInputGivesClearErrors)
{
    auto model = makeMilModel(config(MilModelType::Abmil));
    BagTrainer trainer(model, trainerConfig(1));
    std::vector<Bag> unlabelled = {Bag{"s1", torch::randn({4, kDim}), -1}};
    CHECK_THROWS_MESSAGE(trainer.train(unlabelled, {}), "Training needs a label for every training slide; 's1' has none");
    std::vector<Bag> wide = {Bag{"s2", torch::randn({4, kDim + 1}), 0}};
    CHECK_THROWS_MESSAGE(trainer.train(wide, {}), "Slide 's2' has 33 features per patch; the model takes 32");
    CHECK_THROWS_MESSAGE(trainer.train({}, {}), "Training needs at least one training slide");
    std::vector<Bag> broken = {Bag{"s3", torch::full({4, kDim}, std::numeric_limits<float>::quiet_NaN()), 1}};
    CHECK_THROWS_MESSAGE(trainer.train(broken, {}),
                         "Training diverged: the loss of slide 's3' in epoch 1 is not finite; try a lower learning rate");
}
