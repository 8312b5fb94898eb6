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
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <random>

#include "enginecheck.h"
#include "torchfilecrafting.h"

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

// Reference checkpoints load with the right model and predict: always the fixtures written in the
// reference's format (tests/fixtures/mil/make_mil_fixtures.py: legacy torch.save from CUDA, input
// 16, embedding 8), and also the checkpoints the ICMIL authors publish (utils/*.pth in
// github.com/Dootmaan/ICMIL, input 1024, embedding 512) when ICMIL_REFERENCE_CHECKPOINTS names a
// folder holding them.
ENGINE_TEST(publishedReferenceCheckpoints)
{
    struct Published {
        fs::path path;
        MilModelType type;
        std::int64_t inputDim;
        std::int64_t embedDim;
        int classes;
    };
    std::vector<Published> files{
        {kFixtures / "reference_abmil.pth", MilModelType::Abmil, 16, 8, 2},
        {kFixtures / "reference_abmil3.pth", MilModelType::Abmil, 16, 8, 3},
        {kFixtures / "reference_maxpool.pth", MilModelType::MaxPool, 16, 8, 2},
        {kFixtures / "reference_dtfd.pth", MilModelType::Dtfd, 16, 8, 2},
    };
    if (const char *folder = std::getenv("ICMIL_REFERENCE_CHECKPOINTS")) {
        files.push_back(
            {fs::path(folder) / "AB-MIL_model_best_resnet1024_(also_for_visualization).pth", MilModelType::Abmil, 1024, 512, 2});
        files.push_back({fs::path(folder) / "MaxPool_after_ICMIL_model_best.pth", MilModelType::MaxPool, 1024, 512, 2});
        files.push_back({fs::path(folder) / "DTFD_after_ICMIL_model_best.pth", MilModelType::Dtfd, 1024, 512, 2});
    }
    torch::manual_seed(3);
    for (const Published &file : files) {
        const MilCheckpoint checkpoint = readMilCheckpoint(file.path);
        CHECK(checkpoint.reference);
        CHECK_EQ(checkpoint.model.type, file.type);
        CHECK_EQ(checkpoint.model.inputDim, file.inputDim);
        CHECK_EQ(checkpoint.model.embedDim, file.embedDim);
        CHECK_EQ(checkpoint.model.classes, file.classes);
        auto model = instantiateMilModel(checkpoint);
        const BagPrediction prediction = predictBag(*model, Bag{"x", torch::rand({100, file.inputDim}), -1});
        CHECK_EQ(prediction.probabilities.size(), static_cast<std::size_t>(file.classes));
        double sum = 0.0;
        for (const double probability : prediction.probabilities) {
            CHECK(std::isfinite(probability) && probability >= 0.0);
            sum += probability;
        }
        CHECK_NEAR(sum, 1.0, 1e-6);
    }
}

// ---- damaged weights never load ---------------------------------------------------------------

ENGINE_TEST(nonFiniteWeightsAreRefusedNamingTheTensor)
{
    const std::string read = "Cannot read MIL checkpoint '";
    const std::string damaged = "' holds non-finite values (NaN or Inf): the checkpoint is damaged";
    MilModelConfig config;
    config.inputDim = 6;
    config.embedDim = 4;
    config.attentionDim = 3;
    const MilCheckpoint good = makeMilCheckpoint(*makeMilModel(config));
    const std::string key = "attention.attention_V.0.weight";
    CHECK(good.weights.find(key) != nullptr);
    for (const float bad :
         {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity()}) {
        MilCheckpoint checkpoint = good;
        StateDict weights;
        for (const auto &[name, tensor] : good.weights.entries())
            weights.insert(name, name == key ? tensor.clone().index_put_({1, 2}, bad) : tensor);
        checkpoint.weights = weights;
        const fs::path path = scratch("nonfinite.pth");
        writeMilCheckpoint(path, checkpoint);
        CHECK_THROWS_MESSAGE(readMilCheckpoint(path), read + path.string() + "': tensor '" + key + damaged);
        // The generic reader still reads it: a file may hold NaN on purpose.
        CHECK(readStateDict(path).find(key) != nullptr);
        // A model is never given such weights, from a file or not.
        CHECK_THROWS_MESSAGE(instantiateMilModel(checkpoint), "Weights: tensor '" + key + damaged);
    }
    // The optimiser state of a checkpoint to resume from, too.
    MilCheckpoint withOptimizer = good;
    withOptimizer.optimizer.insert("0.classifier.fc.weight.exp_avg_sq", torch::full({2}, std::numeric_limits<float>::infinity()));
    const fs::path optimizerPath = scratch("nonfinite_optimizer.pth");
    writeMilCheckpoint(optimizerPath, withOptimizer);
    CHECK_THROWS_MESSAGE(readMilCheckpoint(optimizerPath),
                         read + optimizerPath.string() + "': tensor '0.classifier.fc.weight.exp_avg_sq" + damaged);
    // Every floating dtype is checked (half and bfloat16 included); integers cannot hold NaN.
    for (const c10::ScalarType dtype : {torch::kFloat, torch::kDouble, torch::kHalf, torch::kBFloat16, torch::kComplexFloat}) {
        StateDict state;
        state.insert("steps", torch::tensor({std::int64_t{1}}));
        state.insert("w", torch::zeros({3000000}, torch::TensorOptions().dtype(dtype)));
        requireFiniteTensors(state);
        state.insert("w", torch::zeros({3000000}, torch::TensorOptions().dtype(dtype)).index_put_({2999999}, std::nan("")));
        CHECK_THROWS_MESSAGE(requireFiniteTensors(state), "tensor 'w" + damaged);
    }
}

namespace {

struct MutationCounts {
    int errors = 0;
    int identical = 0;
    int damaged = 0;   // loaded with other weights: only where the format has no checksum
    int nonFinite = 0; // errors that were the non-finite check
};

// 200 seeded mutants of `original` through readMilCheckpoint. Each must give one EngineError naming
// the file, or the original's model and weights bit for bit. When `unprotectedFrom` is set (a
// legacy file: its storages carry no checksum), a mutant may load other values when the change
// that made them lies in the raw storage bytes from that offset on: the same mutant with those
// bytes put back must load the original (every change elsewhere is caught or harmless).
MutationCounts mutateCheckpoint(const fs::path &source, std::optional<std::size_t> unprotectedFrom, std::string &failure)
{
    const std::string original = torchfilecrafting::readFile(source);
    const MilCheckpoint expected = readMilCheckpoint(source);
    std::mt19937_64 random(20260421);
    const fs::path path = scratch("mutant" + source.extension().string());
    MutationCounts counts;
    for (int i = 0; i < 200 && failure.empty(); ++i) {
        const torchfilecrafting::Mutant mutant = torchfilecrafting::mutate(original, random);
        torchfilecrafting::writeFile(path, mutant.bytes);
        const std::string what = source.filename().string() + " mutant " + std::to_string(i) + " (" + mutant.describe() + ")";
        try {
            const MilCheckpoint loaded = readMilCheckpoint(path);
            const std::string difference = torchfilecrafting::bitDifference(loaded.weights, expected.weights);
            if (difference.empty() && loaded.model == expected.model) {
                ++counts.identical;
                continue;
            }
            // Allowed only when the same file with its raw storage bytes put back loads the
            // original: then only those bytes, which the legacy format does not protect, differ.
            bool unprotected = false;
            if (unprotectedFrom && !mutant.truncated) {
                std::string headerOnly = original;
                headerOnly.replace(0, *unprotectedFrom, mutant.bytes, 0, *unprotectedFrom);
                torchfilecrafting::writeFile(path, headerOnly);
                try {
                    const MilCheckpoint back = readMilCheckpoint(path);
                    unprotected = torchfilecrafting::bitDifference(back.weights, expected.weights).empty() && back.model == expected.model;
                } catch (const EngineError &) {
                    unprotected = false; // a change the reader sees, yet the whole mutant loaded
                }
            }
            if (!unprotected)
                failure = what + " loaded damaged weights: " + difference;
            ++counts.damaged;
        } catch (const EngineError &error) {
            const std::string message = error.what();
            if (!message.starts_with("Cannot read PyTorch file '" + path.string() + "': ")
                && !message.starts_with("Cannot read MIL checkpoint '" + path.string() + "': "))
                failure = what + ": \"" + message + "\"";
            ++counts.errors;
            counts.nonFinite += message.find("non-finite") != std::string::npos ? 1 : 0;
        } catch (const std::exception &error) {
            failure = what + ": UNEXPECTED " + error.what();
        }
    }
    std::cout << "  " << source.filename().string() << " mutants: " << counts.errors << " errors (" << counts.nonFinite
              << " of them non-finite weights), " << counts.identical << " identical, " << counts.damaged << " damaged" << std::endl;
    return counts;
}

} // namespace

ENGINE_TEST(randomMutantsNeverLoadDamagedWeights)
{
    // The issue's experiment: 200 mutants (1-8 random bytes changed, one in five also cut short).
    // The reference ABMIL weights in the zip format (each member CRC-checked): never damaged.
    const MilCheckpoint reference = readMilCheckpoint(kFixtures / "reference_abmil.pth");
    MilCheckpoint ours = reference;
    ours.reference = false;
    ours.formatVersion = kMilCheckpointFormatVersion;
    const fs::path zip = scratch("abmil_zip.pth");
    writeMilCheckpoint(zip, ours);
    std::string failure;
    const MutationCounts zipCounts = mutateCheckpoint(zip, std::nullopt, failure);
    CHECK_EQ(failure, "");
    CHECK_EQ(zipCounts.damaged, 0);
    CHECK_EQ(zipCounts.errors + zipCounts.identical, 200);

    // The fixture itself, in the legacy format the published checkpoints use: it has no checksum,
    // so a change inside a storage's raw bytes can only be caught when it makes NaN or Inf. Every
    // other change (pickles, keys, shapes, storage counts, a cut) is still an error or harmless.
    // The storages fill the end of the file: an 8-byte element count, then the bytes, each.
    const fs::path legacy = kFixtures / "reference_abmil.pth";
    std::uint64_t storageBytes = 0;
    for (const auto &[key, tensor] : reference.weights.entries())
        storageBytes += 8 + static_cast<std::uint64_t>(tensor.numel()) * tensor.element_size();
    const std::string bytes = torchfilecrafting::readFile(legacy);
    const std::size_t dataStart = bytes.size() - static_cast<std::size_t>(storageBytes);
    std::uint64_t firstCount = 0;
    for (std::size_t i = 8; i-- > 0;)
        firstCount = (firstCount << 8) | static_cast<std::uint8_t>(bytes[dataStart + i]);
    bool countsAStorage = false;
    for (const auto &[key, tensor] : reference.weights.entries())
        countsAStorage = countsAStorage || static_cast<std::uint64_t>(tensor.numel()) == firstCount;
    CHECK(countsAStorage); // the layout is as assumed: data starts with a storage's element count
    const MutationCounts legacyCounts = mutateCheckpoint(legacy, dataStart + 8, failure);
    CHECK_EQ(failure, "");
    CHECK_EQ(legacyCounts.errors + legacyCounts.identical + legacyCounts.damaged, 200);
}
