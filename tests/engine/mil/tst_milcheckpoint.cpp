// SPDX-License-Identifier: GPL-3.0-or-later
// MIL checkpoints: the ICMIL reference's files (fixtures written by
// tests/fixtures/mil/make_mil_fixtures.py with the reference's model code) give the reference's
// outputs; ours round-trip exactly; bad files give one clear error.

#include "engine/mil/bagevaluation.h"
#include "engine/engineerror.h"
#include "engine/mil/milcheckpoint.h"
#include "engine/torchfile/statedictloader.h"
#include "engine/torchfile/torchfile.h"
#include "engine/torchfile/torchfilewriter.h"

#include <ATen/core/Dict.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "enginecheck.h"

using namespace icmil::engine;
namespace fs = std::filesystem;

namespace {

const fs::path kFixtures = ICMIL_MIL_FIXTURES;
const fs::path kScratch = ICMIL_MIL_SCRATCH;

fs::path scratch(const std::string &name)
{
    fs::create_directories(kScratch);
    return kScratch / name;
}

// Compares the engine's outputs on each fixture bag with what the reference code computed.
void compareWithReference(const std::string &name, MilModelType expectedType, int classes)
{
    const MilCheckpoint checkpoint = readMilCheckpoint(kFixtures / ("reference_" + name + ".pth"));
    CHECK(checkpoint.reference);
    CHECK_EQ(checkpoint.formatVersion, 0);
    CHECK_EQ(checkpoint.model.type, expectedType);
    CHECK_EQ(checkpoint.model.inputDim, 16);
    CHECK_EQ(checkpoint.model.embedDim, 8);
    CHECK_EQ(checkpoint.model.classes, classes);
    if (expectedType != MilModelType::MaxPool)
        CHECK_EQ(checkpoint.model.attentionDim, 4);
    auto model = instantiateMilModel(checkpoint);
    const StateDict expected = readStateDict(kFixtures / ("expected_" + name + ".pt"));
    for (int i = 0;; ++i) {
        const std::string prefix = "bag" + std::to_string(i) + ".";
        const torch::Tensor *features = expected.find(prefix + "features");
        if (!features) {
            CHECK_EQ(i, 5);
            break;
        }
        const BagPrediction prediction = predictBag(*model, Bag{prefix, *features, -1});
        const torch::Tensor probabilities = *expected.find(prefix + "probabilities");
        const torch::Tensor attention = *expected.find(prefix + "attention");
        CHECK_EQ(prediction.probabilities.size(), static_cast<std::size_t>(classes));
        for (int c = 0; c < classes; ++c)
            CHECK_NEAR(prediction.probabilities[c], probabilities[c].item<double>(), 1e-6);
        CHECK_EQ(prediction.attention.size(), static_cast<std::size_t>(attention.numel()));
        for (std::int64_t n = 0; n < attention.numel(); ++n)
            CHECK_NEAR(prediction.attention[n], attention[n].item<double>(), 1e-6);
    }
}

} // namespace

ENGINE_TEST(referenceAbmilGivesTheReferenceOutputs)
{
    compareWithReference("abmil", MilModelType::Abmil, 2);
}
ENGINE_TEST(referenceAbmilThreeClasses)
{
    compareWithReference("abmil3", MilModelType::Abmil, 3);
}
ENGINE_TEST(referenceMaxPoolGivesTheReferenceOutputs)
{
    compareWithReference("maxpool", MilModelType::MaxPool, 2);
}
ENGINE_TEST(referenceDtfdGivesTheReferenceOutputs)
{
    compareWithReference("dtfd", MilModelType::Dtfd, 2);
}

ENGINE_TEST(referenceTypeCanBeGiven)
{
    // An ABMIL file read as MaxPool: the attention weights are then unexpected (not an error).
    const MilCheckpoint asMaxPool = readMilCheckpoint(kFixtures / "reference_abmil.pth", MilModelType::MaxPool);
    CHECK_EQ(asMaxPool.model.type, MilModelType::MaxPool);
    // A MaxPool file read as ABMIL lacks the attention weights.
    CHECK_THROWS_MESSAGE(
        readMilCheckpoint(kFixtures / "reference_maxpool.pth", MilModelType::Abmil),
        "Cannot read MIL checkpoint '" + (kFixtures / "reference_maxpool.pth").string()
            + "': Its weights do not fit the abmil model: 6 problems (6 missing keys, 0 wrong shapes): missing attention.attention_V.0.weight; "
              "missing attention.attention_V.0.bias; missing attention.attention_U.0.weight; missing "
              "attention.attention_U.0.bias; missing attention.attention_weights.weight; and 1 more");
}

ENGINE_TEST(ourCheckpointRoundTripsExactly)
{
    for (MilModelType type : {MilModelType::Abmil, MilModelType::MaxPool, MilModelType::Dtfd}) {
        MilModelConfig config;
        config.type = type;
        config.inputDim = 20;
        config.embedDim = 12;
        config.attentionDim = 6;
        config.classes = 3;
        config.pseudoBags = 3;
        config.distillation = DtfdDistillation::MaxMinS;
        config.seed = 42;
        auto model = makeMilModel(config);
        model->eval();
        MilCheckpoint checkpoint = makeMilCheckpoint(*model);
        checkpoint.classNames = {"a", "b", "c"};
        checkpoint.epoch = 17;
        checkpoint.trainingConfigJson = R"({"epochs": 20})";
        checkpoint.metricsJson = R"({"val_auc": 0.9})";
        checkpoint.optimizer.insert("0.classifier.fc.weight.step", torch::tensor(std::int64_t{5}));
        checkpoint.optimizerLearningRates = {2e-4};
        const fs::path path = scratch("roundtrip_" + milModelTypeName(type) + ".pth");
        writeMilCheckpoint(path, checkpoint);
        CHECK(!fs::exists(path.string() + ".partial"));

        const MilCheckpoint back = readMilCheckpoint(path);
        CHECK(!back.reference);
        CHECK_EQ(back.formatVersion, kMilCheckpointFormatVersion);
        CHECK(back.model == config);
        CHECK_EQ(back.classNames, checkpoint.classNames);
        CHECK_EQ(back.epoch, 17);
        CHECK(!back.threshold.has_value());
        CHECK_EQ(back.trainingConfigJson, checkpoint.trainingConfigJson);
        CHECK_EQ(back.metricsJson, checkpoint.metricsJson);
        CHECK_EQ(back.optimizer.size(), std::size_t{1});
        CHECK_EQ(back.optimizerLearningRates, checkpoint.optimizerLearningRates);
        std::vector<std::string> keys = back.weights.keys();
        std::vector<std::string> expectedKeys = checkpoint.weights.keys();
        std::sort(keys.begin(), keys.end());
        std::sort(expectedKeys.begin(), expectedKeys.end());
        CHECK_EQ(keys, expectedKeys); // grouped by submodule in the file

        auto restored = instantiateMilModel(back);
        torch::manual_seed(9);
        for (int n : {1, 5, 31}) {
            const torch::Tensor bag = torch::randn({n, 20});
            CHECK(torch::equal(model->forward(bag).logits, restored->forward(bag).logits));
            CHECK(torch::equal(model->forward(bag).attention, restored->forward(bag).attention));
        }
        // The reference's layout is there for its scripts: a dict of state dicts.
        const PickleValue root = readTorchFile(path);
        CHECK(root.find("dim_reduction") && root.find("dim_reduction")->isDict());
        CHECK(root.find("classifier")->find("fc.weight") != nullptr);
        CHECK(root.find("attention") != nullptr); // empty for MaxPool, as the reference saves it
        CHECK_EQ(root.find("att_classifier") != nullptr, type == MilModelType::Dtfd);
    }
}

ENGINE_TEST(thresholdRoundTrips)
{
    MilModelConfig config;
    config.inputDim = 4;
    config.embedDim = 4;
    config.attentionDim = 2;
    MilCheckpoint checkpoint = makeMilCheckpoint(*makeMilModel(config));
    checkpoint.threshold = 0.375;
    const fs::path path = scratch("threshold.pth");
    writeMilCheckpoint(path, checkpoint);
    CHECK_EQ(readMilCheckpoint(path).threshold.value_or(-1.0), 0.375);
}

ENGINE_TEST(badFilesGiveOneClearError)
{
    const fs::path text = scratch("not_torch.pth");
    std::ofstream(text) << "hello";
    const std::string read = "Cannot read MIL checkpoint '";
    bool threw = false;
    try {
        readMilCheckpoint(text);
    } catch (const EngineError &error) {
        threw = std::string(error.what()).rfind("Cannot read PyTorch file '" + text.string() + "'", 0) == 0;
    }
    CHECK(threw);

    const fs::path other = scratch("other_weights.pth");
    StateDict state;
    state.insert("conv1.weight", torch::zeros({2, 2}));
    writeStateDict(other, state);
    CHECK_THROWS_MESSAGE(readMilCheckpoint(other),
                         read + other.string()
                             + "': no dim_reduction.fc1.weight (expected the ICMIL layout: "
                               "dim_reduction, attention, classifier[, att_classifier])");

    // A newer format than this build reads.
    c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
    c10::impl::GenericDict meta(c10::StringType::get(), c10::AnyType::get());
    meta.insert("format", std::string("icmil-studio-mil-checkpoint"));
    meta.insert("format_version", std::int64_t{99});
    root.insert("icmil_studio", meta);
    const fs::path newer = scratch("newer.pth");
    writeTorchFile(newer, root);
    CHECK_THROWS_MESSAGE(readMilCheckpoint(newer),
                         read + newer.string()
                             + "': format version 99 is not supported (this build reads 1 to 1); a newer ICMIL Studio wrote it");

    // Ours, read as another type.
    MilModelConfig config;
    config.inputDim = 4;
    const fs::path abmil = scratch("abmil.pth");
    writeMilCheckpoint(abmil, makeMilCheckpoint(*makeMilModel(config)));
    CHECK_THROWS_MESSAGE(readMilCheckpoint(abmil, MilModelType::Dtfd),
                         read + abmil.string() + "': it holds a model of type abmil, not dtfd");

    // Features of the wrong width.
    auto model = instantiateMilModel(readMilCheckpoint(abmil));
    CHECK_THROWS_MESSAGE(predictBag(*model, Bag{"s1", torch::zeros({3, 5}), -1}), "Slide 's1' has 5 features per patch; the model takes 4");
    CHECK_THROWS_MESSAGE(predictBag(*model, Bag{"s2", torch::zeros({0, 4}), -1}), "Slide 's2' has no patch features");
}

// The instance view: per patch, the softmax of the model's instance head (eval, no gradients),
// rows summing to 1; on a one-patch bag ABMIL's and MaxPool's instance head is their bag head.
ENGINE_TEST(predictBagGivesInstanceProbabilities)
{
    torch::manual_seed(5);
    for (MilModelType type : {MilModelType::Abmil, MilModelType::MaxPool, MilModelType::Dtfd}) {
        MilModelConfig config;
        config.type = type;
        config.inputDim = 6;
        config.embedDim = 4;
        config.attentionDim = 3;
        config.classes = 3;
        config.dropout = 0.5; // eval must switch it off
        auto model = makeMilModel(config);
        model->train();
        const torch::Tensor features = torch::randn({5, 6});
        const BagPrediction prediction = predictBag(*model, Bag{"s1", features, -1});
        CHECK(model->is_training()); // restored
        CHECK_EQ(prediction.instanceProbabilities.size(), std::size_t{15});
        model->eval();
        torch::Tensor expected;
        {
            torch::NoGradGuard noGrad;
            expected = torch::softmax(model->instanceLogits(features), 1);
        }
        for (std::int64_t n = 0; n < 5; ++n) {
            double sum = 0.0;
            for (std::int64_t c = 0; c < 3; ++c) {
                const float value = prediction.instanceProbabilities[static_cast<std::size_t>(n * 3 + c)];
                CHECK_NEAR(value, expected[n][c].item<double>(), 1e-6);
                sum += value;
            }
            CHECK_NEAR(sum, 1.0, 1e-5);
        }
        if (type != MilModelType::Dtfd) {
            const BagPrediction one = predictBag(*model, Bag{"s2", features.slice(0, 0, 1), -1});
            CHECK_EQ(one.instanceProbabilities.size(), std::size_t{3});
            for (std::size_t c = 0; c < 3; ++c)
                CHECK_NEAR(one.instanceProbabilities[c], one.probabilities[c], 1e-6);
        }
        // Left out when not asked for.
        CHECK(predictBag(*model, Bag{"s3", features, -1}, false).instanceProbabilities.empty());
    }
}

// The checkpoints the ICMIL authors publish (utils/*.pth in github.com/Dootmaan/ICMIL), when a
// folder holding them is named by ICMIL_REFERENCE_CHECKPOINTS: they load, with the right model.
ENGINE_TEST(publishedReferenceCheckpoints)
{
    const char *folder = std::getenv("ICMIL_REFERENCE_CHECKPOINTS");
    if (!folder)
        SKIP("set ICMIL_REFERENCE_CHECKPOINTS to a folder with the ICMIL repository's utils/*.pth");
    const std::pair<const char *, MilModelType> files[] = {
        {"AB-MIL_model_best_resnet1024_(also_for_visualization).pth", MilModelType::Abmil},
        {"MaxPool_after_ICMIL_model_best.pth", MilModelType::MaxPool},
        {"DTFD_after_ICMIL_model_best.pth", MilModelType::Dtfd},
    };
    for (const auto &[file, type] : files) {
        const MilCheckpoint checkpoint = readMilCheckpoint(fs::path(folder) / file);
        CHECK_EQ(checkpoint.model.type, type);
        CHECK_EQ(checkpoint.model.inputDim, 1024);
        CHECK_EQ(checkpoint.model.embedDim, 512);
        auto model = instantiateMilModel(checkpoint);
        const BagPrediction prediction = predictBag(*model, Bag{"x", torch::rand({100, 1024}), -1});
        CHECK_NEAR(prediction.probabilities[0] + prediction.probabilities[1], 1.0, 1e-6);
    }
}
