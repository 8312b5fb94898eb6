// SPDX-License-Identifier: GPL-3.0-or-later
// Tests for the built-in embedders (engine/embedders/embedder.h: resnet50-trunc, tiny-cnn), the state-dict
// loader (engine/torchfile/statedictloader.h) and the weights files Embedder::save() writes.

#include "engine/embedders/embedder.h"
#include "engine/engineerror.h"
#include "engine/embedders/moduleembedder.h"
#include "engine/embedders/resnet50trunc.h"
#include "engine/torchfile/statedictloader.h"
#include "engine/embedders/tinycnn.h"
#include "engine/torchfile/torchfile.h"

#include <torch/optim/sgd.h>

#include <fstream>
#include <sstream>

// Last: the TorchScript headers pull in glog, whose CHECK (abort on failure) the harness's replaces.
#include "embeddertestsupport.h"
#undef CHECK
#undef CHECK_EQ
#undef CHECK_NEAR
#include "enginecheck.h"

using namespace icmil::engine;
using embeddertest::patches;
using embeddertest::same;
using embeddertest::scratchFile;

namespace {

std::unique_ptr<Embedder> make(const std::string &name, std::uint64_t seed = 0, const std::filesystem::path &weights = {})
{
    EmbedderConfig config;
    config.name = name;
    config.seed = seed;
    config.weights = weights;
    return makeEmbedder(config);
}

torch::Tensor features(Embedder &embedder, const torch::Tensor &batch)
{
    torch::NoGradGuard noGrad;
    return embedder.forward(batch);
}

// A copy of the module's state dict with tensors of their own (not views of the module's).
StateDict ownedCopy(const StateDict &state, const std::string &prefix = {})
{
    StateDict copy;
    for (const auto &[key, tensor] : state.entries())
        copy.insert(prefix + key, tensor.clone());
    return copy;
}

std::string shapeText(const torch::Tensor &tensor)
{
    std::ostringstream text;
    text << tensor.sizes();
    return text.str();
}

std::unique_ptr<ModuleEmbedder> asModule(std::unique_ptr<Embedder> embedder)
{
    auto *module = dynamic_cast<ModuleEmbedder *>(embedder.get());
    if (!module)
        return nullptr;
    embedder.release();
    return std::unique_ptr<ModuleEmbedder>(module);
}

} // namespace

ENGINE_TEST(listsBuiltInNames)
{
    CHECK(builtInEmbedderNames() == (std::vector<std::string>{"resnet50-trunc", "tiny-cnn"}));
}

ENGINE_TEST(tinyCnnDescribesItselfAndEmbeds)
{
    const auto embedder = make("tiny-cnn");
    CHECK_EQ(embedder->name(), std::string("tiny-cnn"));
    CHECK_EQ(embedder->inputSize(), 64);
    CHECK_EQ(embedder->featureDim(), 128);
    CHECK(embedder->normalisation() == Normalisation{});
    CHECK(embedder->device() == torch::Device(torch::kCPU));
    const torch::Tensor out = features(*embedder, patches(5, 64));
    CHECK_EQ(shapeText(out), std::string("[5, 128]"));
    CHECK(torch::isfinite(out).all().item<bool>());
}

ENGINE_TEST(resnet50TruncDescribesItselfAndEmbeds)
{
    const auto embedder = make("resnet50-trunc");
    CHECK_EQ(embedder->name(), std::string("resnet50-trunc"));
    CHECK_EQ(embedder->inputSize(), 224);
    CHECK_EQ(embedder->featureDim(), 1024);
    CHECK(embedder->normalisation() == Normalisation{});
    const torch::Tensor out = features(*embedder, patches(2, 224));
    CHECK_EQ(shapeText(out), std::string("[2, 1024]"));
    CHECK(torch::isfinite(out).all().item<bool>());
    CHECK((out >= 0).all().item<bool>()); // average of ReLU outputs
}

// tests/engine/data/resnet50_torchvision_keys.txt comes from a line-by-line restatement of
// torchvision's ResNet-50 in Python (resnet50_torchvision_keys.py beside it).
ENGINE_TEST(resnet50TruncHasTorchvisionKeysShapesAndOrder)
{
    std::ifstream file(std::string(ICMIL_EMBEDDER_TEST_DATA) + "/resnet50_torchvision_keys.txt");
    CHECK(file.good());
    std::vector<std::string> expected;
    std::string key, shape, dtype;
    while (file >> key >> shape >> dtype)
        expected.push_back(key + " " + shape + " " + dtype);
    CHECK_EQ(expected.size(), std::size_t(258));

    ResNet50Trunc model;
    std::vector<std::string> actual;
    const StateDict state = moduleStateDict(*model);
    for (const auto &[name, tensor] : state.entries()) {
        std::string sizes;
        for (const auto size : tensor.sizes())
            sizes += (sizes.empty() ? "" : "x") + std::to_string(size);
        actual.push_back(name + " " + (sizes.empty() ? "scalar" : sizes) + " "
                         + (tensor.scalar_type() == torch::kLong ? "int64" : "float32"));
    }
    CHECK_EQ(actual.size(), expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        CHECK_EQ(actual[i], expected[i]);
}

ENGINE_TEST(tinyCnnKeys)
{
    const auto embedder = asModule(make("tiny-cnn"));
    CHECK(embedder);
    std::vector<std::string> expected;
    for (int stage = 1; stage <= 4; ++stage) {
        const std::string n = std::to_string(stage);
        for (const char *suffix : {"conv.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}) {
            const std::string s(suffix);
            expected.push_back(s.substr(0, s.find('.')) + n + s.substr(s.find('.')));
        }
    }
    CHECK(embedder->stateDict().keys() == expected);
}

ENGINE_TEST(initialisesLikeTorchvision)
{
    ResNet50Trunc model(ResNet50TruncOptions{3});
    const StateDict state = moduleStateDict(*model);
    // kaiming normal, fan_out, ReLU gain: std = sqrt(2 / (out * k * k)); conv1: 64 * 7 * 7.
    CHECK_NEAR(state.find("conv1.weight")->std().item<double>(), std::sqrt(2.0 / (64 * 49)), 0.002);
    CHECK_NEAR(state.find("layer3.5.conv2.weight")->std().item<double>(), std::sqrt(2.0 / (256 * 9)), 0.001);
    CHECK(torch::equal(*state.find("layer2.0.bn3.weight"), torch::ones({512})));
    CHECK(torch::equal(*state.find("layer2.0.bn3.bias"), torch::zeros({512})));
    CHECK(torch::equal(*state.find("layer2.0.downsample.1.running_var"), torch::ones({512})));
}

ENGINE_TEST(sameSeedSameWeightsOtherSeedOtherWeights)
{
    const torch::Tensor batch = patches(3, 64);
    const auto a = make("tiny-cnn", 11);
    const auto b = make("tiny-cnn", 11);
    const auto c = make("tiny-cnn", 12);
    CHECK(same(features(*a, batch), features(*b, batch)));
    CHECK(!same(features(*a, batch), features(*c, batch)));
    // Seeding is local: LibTorch's global generator does not decide the weights.
    torch::manual_seed(999);
    const auto d = make("tiny-cnn", 11);
    CHECK(same(features(*a, batch), features(*d, batch)));
}

ENGINE_TEST(forwardNormalisesWithImageNetStatistics)
{
    const torch::Tensor batch = patches(2, 64);
    const auto embedder = make("tiny-cnn", 5);
    TinyCnn plain(TinyCnnOptions{5});
    plain->eval();
    const torch::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
    const torch::Tensor std = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
    torch::NoGradGuard noGrad;
    CHECK(torch::allclose(embedder->forward(batch), plain->forward((batch - mean) / std), 1e-6, 1e-6));
}

ENGINE_TEST(forwardRejectsWrongBatches)
{
    const auto embedder = make("tiny-cnn");
    CHECK_THROWS_MESSAGE(embedder->forward(torch::rand({2, 3, 32, 32})), "tiny-cnn expects a batch N x 3 x 64 x 64, got [2, 3, 32, 32]");
    CHECK_THROWS_MESSAGE(embedder->forward(torch::rand({3, 64, 64})), "tiny-cnn expects a batch N x 3 x 64 x 64, got [3, 64, 64]");
    CHECK_THROWS_MESSAGE(embedder->forward(torch::zeros({1, 3, 64, 64}, torch::kByte)),
                         "tiny-cnn expects floating-point pixels in [0, 1], got Byte");
}

ENGINE_TEST(wrongShapeIsReportedAndNothingChanges)
{
    const auto source = asModule(make("resnet50-trunc", 1));
    StateDict state = ownedCopy(source->stateDict());
    state.insert("layer1.0.conv1.weight", torch::zeros({64, 32, 1, 1}));
    const auto target = asModule(make("resnet50-trunc", 2));
    const torch::Tensor before = target->stateDict().find("conv1.weight")->clone();
    CHECK_THROWS_MESSAGE(target->loadWeights(state, "Weights 'bad.pth'"),
                         "Weights 'bad.pth' do not fit resnet50-trunc: 1 problem (0 missing keys, 1 wrong shape): "
                         "layer1.0.conv1.weight: expected [64, 64, 1, 1], file has [64, 32, 1, 1]");
    CHECK(torch::equal(*target->stateDict().find("conv1.weight"), before));
}

ENGINE_TEST(missingKeysAreReportedInModelOrderWithACount)
{
    const auto embedder = asModule(make("tiny-cnn"));
    StateDict state;
    const StateDict original = ownedCopy(embedder->stateDict());
    for (const auto &[key, tensor] : original.entries()) {
        if (key == "bn1.weight")
            continue;
        state.insert(key, key == "conv1.weight" ? torch::zeros({16, 3, 5, 5}) : tensor);
    }
    CHECK_THROWS_MESSAGE(embedder->loadWeights(state, "Weights 'x.pth'"),
                         "Weights 'x.pth' do not fit tiny-cnn: 2 problems (1 missing key, 1 wrong shape): "
                         "conv1.weight: expected [16, 3, 3, 3], file has [16, 3, 5, 5]; missing bn1.weight");

    StateDict sparse;
    sparse.insert("conv1.weight", torch::zeros({16, 3, 3, 3}));
    sparse.insert("classifier.weight", torch::zeros({2, 128}));
    CHECK_THROWS_MESSAGE(embedder->loadWeights(sparse, "Weights 'y.pth'"),
                         "Weights 'y.pth' do not fit tiny-cnn: 19 problems (19 missing keys, 0 wrong shapes): missing bn1.weight; "
                         "missing bn1.bias; missing bn1.running_mean; missing bn1.running_var; missing conv2.weight; and 14 more");

    StateDict foreign;
    foreign.insert("dim_reduction.weight", torch::zeros({512, 1024}));
    foreign.insert("attention.weight", torch::zeros({1, 512}));
    const std::string message = [&] {
        try {
            embedder->loadWeights(foreign, "Weights 'abmil.pth'");
        } catch (const EngineError &error) {
            return std::string(error.what());
        }
        return std::string();
    }();
    const std::string hint = ". None of the file's 2 keys match; the first is 'dim_reduction.weight'";
    CHECK(message.size() > hint.size() && message.substr(message.size() - hint.size()) == hint);
}

ENGINE_TEST(fullTorchvisionFileWithDataParallelPrefixLoads)
{
    const torch::Tensor batch = patches(2, 224);
    const auto source = asModule(make("resnet50-trunc", 1));
    StateDict state = ownedCopy(source->stateDict(), "module.");
    state.insert("module.layer4.0.conv1.weight", torch::zeros({512, 1024, 1, 1}));
    state.insert("module.fc.weight", torch::zeros({1000, 2048}));
    state.insert("module.fc.bias", torch::zeros({1000}));

    const auto target = asModule(make("resnet50-trunc", 2));
    CHECK(!same(features(*source, batch), features(*target, batch)));
    const StateDictLoadReport report = target->loadWeights(state, "Weights 'resnet50.pth'");
    CHECK(report.fits());
    CHECK(report.strippedModulePrefix);
    CHECK_EQ(report.loaded.size(), std::size_t(258));
    CHECK(report.ignored == (std::vector<std::string>{"layer4.0.conv1.weight", "fc.weight", "fc.bias"}));
    CHECK(report.unexpected.empty());
    CHECK(same(features(*source, batch), features(*target, batch)));
}

ENGINE_TEST(unexpectedKeysAndOldBatchNormFilesAreTolerated)
{
    const auto source = asModule(make("tiny-cnn", 1));
    StateDict state;
    const StateDict original = ownedCopy(source->stateDict());
    for (const auto &[key, tensor] : original.entries()) {
        if (key.find("num_batches_tracked") == std::string::npos) // files from PyTorch < 0.4.1 lack them
            state.insert(key, tensor);
    }
    state.insert("head.weight", torch::zeros({2, 128}));
    const auto target = asModule(make("tiny-cnn", 2));
    const StateDictLoadReport report = target->loadWeights(state, "Weights 'old.pth'");
    CHECK(report.fits());
    CHECK(!report.strippedModulePrefix);
    CHECK(report.unexpected == (std::vector<std::string>{"head.weight"}));
    CHECK_EQ(report.defaulted.size(), std::size_t(4));
    CHECK_EQ(report.defaulted.front(), std::string("bn1.num_batches_tracked"));
    CHECK_EQ(target->stateDict().find("bn4.num_batches_tracked")->item<std::int64_t>(), std::int64_t(0));
    const torch::Tensor batch = patches(2, 64);
    CHECK(same(features(*source, batch), features(*target, batch)));
}

ENGINE_TEST(cloneIsADeepCopy)
{
    const torch::Tensor batch = patches(3, 64);
    const auto original = make("tiny-cnn", 4);
    const torch::Tensor before = features(*original, batch);
    const auto copy = original->clone();
    CHECK_EQ(copy->name(), std::string("tiny-cnn"));
    CHECK(same(features(*copy, batch), before));
    {
        torch::NoGradGuard noGrad;
        for (auto &parameter : copy->parameters())
            parameter.add_(0.5);
    }
    CHECK(!same(features(*copy, batch), before));
    CHECK(same(features(*original, batch), before));
}

ENGINE_TEST(trainingStepChangesParametersAndRunningStatistics)
{
    for (const char *name : {"tiny-cnn", "resnet50-trunc"}) {
        const auto embedder = asModule(make(name, 8));
        const std::int64_t size = embedder->inputSize();
        const torch::Tensor batch = patches(2, size);
        std::vector<torch::Tensor> before;
        for (const auto &parameter : embedder->parameters()) {
            CHECK(parameter.requires_grad());
            before.push_back(parameter.detach().clone());
        }
        const torch::Tensor meanBefore = embedder->stateDict().find("bn1.running_mean")->clone();
        embedder->setTraining(true);
        torch::optim::SGD optimiser(embedder->parameters(), torch::optim::SGDOptions(0.1));
        optimiser.zero_grad();
        embedder->forward(batch).pow(2).mean().backward();
        optimiser.step();
        const auto after = embedder->parameters();
        for (std::size_t i = 0; i < after.size(); ++i) {
            CHECK(after[i].grad().defined());
            CHECK(!torch::equal(after[i].detach(), before[i]));
        }
        CHECK(!torch::equal(*embedder->stateDict().find("bn1.running_mean"), meanBefore));
        CHECK_EQ(embedder->stateDict().find("bn1.num_batches_tracked")->item<std::int64_t>(), std::int64_t(1));
    }
}

ENGINE_TEST(recalibrateBatchNormEstimatesStatisticsFromTheBatches)
{
    // The first layer's statistics are those of conv1 on the normalised patches: the mean of the
    // batch means and of the (unbiased) batch variances, with momentum none.
    const auto embedder = asModule(make("tiny-cnn", 3));
    const std::vector<torch::Tensor> batches = {patches(6, 64, 1) * 0.5, patches(6, 64, 2) * 0.5 + 0.4};
    const torch::Tensor weightsBefore = embedder->parameters().front().detach().clone();
    std::size_t served = 0;
    CHECK_EQ(embedder->recalibrateBatchNorm([&] { return served < batches.size() ? batches[served++] : torch::Tensor(); }), 4);
    CHECK_EQ(served, batches.size());

    const torch::Tensor mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({1, 3, 1, 1});
    const torch::Tensor std = torch::tensor({0.229f, 0.224f, 0.225f}).view({1, 3, 1, 1});
    const torch::Tensor conv1 = *embedder->stateDict().find("conv1.weight");
    torch::Tensor expectedMean = torch::zeros({16}), expectedVariance = torch::zeros({16});
    for (const torch::Tensor &batch : batches) {
        const torch::Tensor out = torch::conv2d((batch - mean) / std, conv1, {}, 2, 1).transpose(0, 1).reshape({16, -1});
        expectedMean += out.mean(1) / 2.0;
        expectedVariance += out.var(1, /*unbiased=*/true) / 2.0;
    }
    CHECK(torch::allclose(*embedder->stateDict().find("bn1.running_mean"), expectedMean, 1e-4, 1e-5));
    CHECK(torch::allclose(*embedder->stateDict().find("bn1.running_var"), expectedVariance, 1e-4, 1e-5));
    CHECK(same(embedder->parameters().front().detach(), weightsBefore));

    // Eval mode again, and the features of different patches now differ by more than before.
    const torch::Tensor probe = patches(8, 64, 9);
    const auto random = make("tiny-cnn", 3);
    CHECK(same(features(*embedder, probe), features(*embedder, probe)));
    CHECK(features(*embedder, probe).std(0).mean().item<double>() > 2.0 * features(*random, probe).std(0).mean().item<double>());
}

ENGINE_TEST(recalibrateBatchNormWithoutBatchesFailsAndChangesNothing)
{
    const auto embedder = asModule(make("tiny-cnn", 3));
    const torch::Tensor meanBefore = embedder->stateDict().find("bn2.running_mean")->clone();
    CHECK_THROWS_MESSAGE(embedder->recalibrateBatchNorm([] { return torch::Tensor(); }),
                         "Batch-norm calibration of tiny-cnn needs at least one batch of 2 or more patches");
    CHECK(same(*embedder->stateDict().find("bn2.running_mean"), meanBefore));
    CHECK(same(*embedder->stateDict().find("bn2.running_var"), torch::ones({32})));
}

ENGINE_TEST(unknownNameAndMissingWeightsAreClearErrors)
{
    CHECK_THROWS_MESSAGE(
        make("resnet18"),
        "Unknown embedder 'resnet18': expected resnet50-trunc, tiny-cnn, or a TorchScript file (.pt) with a JSON beside it");
    CHECK_THROWS_MESSAGE(
        make("weights.pth"),
        "Unknown embedder 'weights.pth': expected resnet50-trunc, tiny-cnn, or a TorchScript file (.pt) with a JSON beside it");
    const std::filesystem::path absent = scratchFile("absent.pth");
    CHECK_THROWS_MESSAGE(make("tiny-cnn", 0, absent), "Weights '" + absent.string() + "' for tiny-cnn not found");
}

ENGINE_TEST(saveWritesATorchSaveFileThatLoadsBackExactly)
{
    for (const char *name : {"tiny-cnn", "resnet50-trunc"}) {
        const auto embedder = make(name, 21);
        const std::int64_t size = embedder->inputSize();
        { // one training step, so running statistics and num_batches_tracked differ from a fresh model
            embedder->setTraining(true);
            torch::optim::SGD optimiser(embedder->parameters(), torch::optim::SGDOptions(0.01));
            embedder->forward(patches(2, size, 3)).mean().backward();
            optimiser.step();
            embedder->setTraining(false);
        }
        const std::filesystem::path file = scratchFile(std::string(name) + ".pth");
        embedder->save(file);
        CHECK(std::filesystem::exists(file));
        CHECK(!std::filesystem::exists(scratchFile(std::string(name) + ".pth.partial")));

        const StateDict written = readStateDict(file);
        const StateDict expected = asModule(embedder->clone())->stateDict();
        CHECK(written.keys() == expected.keys());
        for (const auto &[key, tensor] : expected.entries()) {
            CHECK_EQ(written.find(key)->scalar_type(), tensor.scalar_type());
            CHECK(torch::equal(*written.find(key), tensor));
        }
        const auto restored = make(name, 99, file);
        const torch::Tensor batch = patches(2, size);
        CHECK(same(features(*restored, batch), features(*embedder, batch)));
    }
}

ENGINE_TEST(saveIntoAMissingFolderFails)
{
    const auto embedder = make("tiny-cnn");
    const std::filesystem::path file = scratchFile("no-such-folder") / "tiny.pth";
    CHECK_THROWS_MESSAGE(embedder->save(file), "Cannot write '" + file.string() + "': No such file or directory");
}
