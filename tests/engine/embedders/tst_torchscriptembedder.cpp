// SPDX-License-Identifier: GPL-3.0-or-later
// Tests for TorchScript embedders (engine/embedders/torchscriptembedder.h) and the JSON beside them
// (engine/embedders/torchscriptsidecar.h). The TorchScript modules are built and saved by the tests.

#include "engine/embedders/embedder.h"
#include "engine/engineerror.h"
#include "engine/embedders/torchscriptsidecar.h"

#include <torch/csrc/jit/api/module.h>
#include <torch/optim/sgd.h>

#include <fstream>

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

constexpr int kSize = 8;
constexpr int kDim = 4;

const char *const kLinearForward = R"(
def forward(self, x):
    pooled = x.mean(dim=[2, 3])
    return pooled.matmul(self.weight.t()) + self.bias
)";

void writeText(const std::filesystem::path &path, const std::string &text)
{
    std::ofstream(path, std::ios::binary) << text;
}

std::string sidecarJson(const std::string &name, int inputSize, int featureDim)
{
    return "{\"name\": \"" + name + "\", \"input_size\": " + std::to_string(inputSize) + ", \"feature_dim\": " + std::to_string(featureDim)
        + ",\n \"mean\": [0.5, 0.5, 0.5], \"std\": [0.25, 0.25, 0.25], \"note\": {\"any\": [1, null]}}";
}

// A TorchScript embedder: the per-channel mean of the normalised patch, times weight (D x 3),
// plus bias. Saved as <stem>.pt with <stem>.json beside it (unless json is empty).
std::filesystem::path writeScriptEmbedder(const std::string &stem, const std::string &forward = kLinearForward, int jsonFeatureDim = kDim)
{
    torch::jit::Module module("LinearEmbedder");
    torch::manual_seed(1);
    module.register_parameter("weight", torch::randn({kDim, 3}), false);
    module.register_parameter("bias", torch::randn({kDim}), false);
    module.define(forward);
    const std::filesystem::path path = scratchFile(stem + ".pt");
    module.save(path.string());
    if (jsonFeatureDim > 0)
        writeText(scratchFile(stem + ".json"), sidecarJson("linear-" + stem, kSize, jsonFeatureDim));
    return path;
}

std::unique_ptr<Embedder> load(const std::filesystem::path &path)
{
    EmbedderConfig config;
    config.name = path.string();
    return makeEmbedder(config);
}

torch::Tensor features(Embedder &embedder, const torch::Tensor &batch)
{
    torch::NoGradGuard noGrad;
    return embedder.forward(batch);
}

std::string errorOf(const std::function<void()> &action)
{
    try {
        action();
    } catch (const EngineError &error) {
        return error.what();
    }
    return "(no EngineError)";
}

} // namespace

ENGINE_TEST(loadsAndEmbedsWithTheJsonNormalisation)
{
    const auto path = writeScriptEmbedder("linear");
    const auto embedder = load(path);
    CHECK_EQ(embedder->name(), std::string("linear-linear"));
    CHECK_EQ(embedder->inputSize(), kSize);
    CHECK_EQ(embedder->featureDim(), kDim);
    CHECK(embedder->normalisation() == (Normalisation{{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}}));

    const torch::Tensor batch = patches(3, kSize);
    const torch::Tensor out = features(*embedder, batch);
    CHECK(out.sizes() == c10::IntArrayRef({3, kDim}));
    std::vector<torch::Tensor> parameters = embedder->parameters();
    CHECK_EQ(parameters.size(), std::size_t(2));
    const torch::Tensor expected = ((batch - 0.5) / 0.25).mean({2, 3}).matmul(parameters[0].detach().t()) + parameters[1].detach();
    CHECK(torch::allclose(out, expected, 1e-5, 1e-6));
}

ENGINE_TEST(wrongOutputShapeIsReportedAtLoad)
{
    const auto path = writeScriptEmbedder("wrongdim", kLinearForward, 5);
    CHECK_THROWS_MESSAGE(load(path),
                         "TorchScript embedder '" + path.string()
                             + "' returned shape [2, 4], expected [N, D] = [2, 5] "
                               "with D = feature_dim from '"
                             + scratchFile("wrongdim.json").string() + "'");

    const auto tuple = writeScriptEmbedder("tuple", "def forward(self, x):\n    return (x, x)\n");
    CHECK_THROWS_MESSAGE(load(tuple),
                         "TorchScript embedder '" + tuple.string()
                             + "' returned a Tuple, expected [N, D] = [2, 4] "
                               "with D = feature_dim from '"
                             + scratchFile("tuple.json").string() + "'");
}

ENGINE_TEST(failingForwardIsReportedWithTheScriptError)
{
    const auto path = writeScriptEmbedder("failing", "def forward(self, x):\n    return torch.mm(x.mean(dim=[2, 3]), torch.zeros(5, 4))\n");
    const std::string message = errorOf([&] { load(path); });
    const std::string start = "TorchScript embedder '" + path.string() + "' failed on a batch [2, 3, 8, 8]: ";
    CHECK_EQ(message.substr(0, start.size()), start);
    CHECK(message.find("mat1 and mat2 shapes cannot be multiplied (2x3 and 5x4)") != std::string::npos);
    CHECK(message.find('\n') == std::string::npos);
}

ENGINE_TEST(missingFilesAndWeightsAreClearErrors)
{
    const auto path = writeScriptEmbedder("nojson", kLinearForward, 0);
    CHECK_THROWS_MESSAGE(load(path),
                         "TorchScript embedder '" + path.string() + "' needs a JSON file beside it: '" + scratchFile("nojson.json").string()
                             + "' not found (fields: name, input_size, feature_dim, mean, std)");
    const auto absent = scratchFile("absent.pt");
    CHECK_THROWS_MESSAGE(load(absent), "TorchScript file '" + absent.string() + "' not found");

    const auto notScript = scratchFile("garbage.pt");
    writeText(notScript, "not a zip");
    writeText(scratchFile("garbage.json"), sidecarJson("g", kSize, kDim));
    const std::string message = errorOf([&] { load(notScript); });
    CHECK_EQ(message.substr(0, message.find(':')), "Cannot load TorchScript file '" + notScript.string() + "' as TorchScript");

    EmbedderConfig config;
    config.name = writeScriptEmbedder("withweights").string();
    config.weights = "w.pth";
    CHECK_THROWS_MESSAGE(makeEmbedder(config),
                         "TorchScript embedder '" + config.name
                             + "' carries its own weights; weights 'w.pth' are only for resnet50-trunc and tiny-cnn");
}

ENGINE_TEST(badJsonFieldsAreNamed)
{
    const auto path = writeScriptEmbedder("badjson", kLinearForward, 0);
    const auto json = scratchFile("badjson.json");
    const std::string prefix = "TorchScript JSON '" + json.string() + "'";
    const auto expectError = [&](const std::string &text, const std::string &message) {
        writeText(json, text);
        return errorOf([&] { load(path); }) == prefix + message;
    };
    CHECK(expectError(R"({"name": "x", "input_size": 8, "feature_dim": "abc", "mean": [0,0,0], "std": [1,1,1]})",
                      ": field \"feature_dim\" must be a whole number from 1 to 16777216, got \"abc\""));
    CHECK(expectError(R"({"name": "x", "input_size": 8.5, "feature_dim": 4, "mean": [0,0,0], "std": [1,1,1]})",
                      ": field \"input_size\" must be a whole number from 1 to 65536, got 8.5"));
    CHECK(expectError(R"({"name": "x", "input_size": 8, "feature_dim": 4, "std": [1,1,1]})", ": missing field \"mean\""));
    CHECK(expectError(R"({"name": "x", "input_size": 8, "feature_dim": 4, "mean": [0,0], "std": [1,1,1]})",
                      ": field \"mean\" must be an array of 3 numbers, got [0,0]"));
    CHECK(expectError(R"({"name": "x", "input_size": 8, "feature_dim": 4, "mean": [0,0,0], "std": [1,0,1]})",
                      ": field \"std\" must be an array of 3 positive numbers, got [1,0,1]"));
    CHECK(expectError(R"({"name": "", "input_size": 8, "feature_dim": 4, "mean": [0,0,0], "std": [1,1,1]})",
                      ": field \"name\" must be a non-empty string, got \"\""));
    CHECK(expectError("{\"name\": \"x\",\n \"input_size\": 8,}",
                      " is not valid JSON: expected a field name in double quotes at line 2, column 18"));
    CHECK(expectError("{\"name\": \"x\", \"name\": \"y\"}", " is not valid JSON: field \"name\" appears twice at line 1, column 15"));
    CHECK(expectError("[1, 2]", " must hold a JSON object {\"name\", \"input_size\", \"feature_dim\", \"mean\", \"std\"}"));
    CHECK(expectError("", " is not valid JSON: unexpected end of file at line 1, column 1"));
}

ENGINE_TEST(sidecarRoundTripsThroughItsJson)
{
    TorchScriptSidecar sidecar;
    sidecar.name = "uni \"v1\"\\é";
    sidecar.inputSize = 224;
    sidecar.featureDim = 1024;
    sidecar.normalisation = {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};
    const TorchScriptSidecar back = TorchScriptSidecar::parse(sidecar.toJson(), "test");
    CHECK_EQ(back.name, sidecar.name);
    CHECK_EQ(back.inputSize, 224);
    CHECK_EQ(back.featureDim, 1024);
    CHECK(back.normalisation == sidecar.normalisation);
    CHECK(sidecar.toJson().find("[0.485, 0.456, 0.406]") != std::string::npos);
    CHECK_EQ(
        TorchScriptSidecar::parse(R"({"name":"\u00e9\ud83d\ude00","input_size":1,"feature_dim":1,"mean":[0,0,0],"std":[1,1,1]})", "t").name,
        std::string("\xc3\xa9\xf0\x9f\x98\x80"));
    CHECK_EQ(TorchScriptSidecar::pathFor("/models/uni.v2.pt"), std::filesystem::path("/models/uni.v2.json"));
}

ENGINE_TEST(trainsClonesDeeplyAndSavesWithItsJson)
{
    const auto embedder = load(writeScriptEmbedder("trainable"));
    const torch::Tensor batch = patches(4, kSize);
    const torch::Tensor before = features(*embedder, batch);

    const auto teacher = embedder->clone();
    CHECK_EQ(teacher->name(), embedder->name());
    CHECK(same(features(*teacher, batch), before));
    for (const auto &parameter : teacher->parameters()) {
        CHECK(parameter.requires_grad());
        CHECK(parameter.is_leaf());
    }

    embedder->setTraining(true);
    std::vector<torch::Tensor> parameters = embedder->parameters();
    std::vector<torch::Tensor> old;
    for (const auto &parameter : parameters) {
        CHECK(parameter.requires_grad());
        old.push_back(parameter.detach().clone());
    }
    torch::optim::SGD optimiser(parameters, torch::optim::SGDOptions(0.1));
    embedder->forward(batch).pow(2).mean().backward();
    optimiser.step();
    for (std::size_t i = 0; i < parameters.size(); ++i)
        CHECK(!torch::equal(parameters[i].detach(), old[i]));
    embedder->setTraining(false);
    const torch::Tensor after = features(*embedder, batch);
    CHECK(!same(after, before));
    CHECK(same(features(*teacher, batch), before)); // the clone kept its own weights

    const auto saved = scratchFile("saved.pt");
    embedder->save(saved);
    CHECK(std::filesystem::exists(scratchFile("saved.json")));
    CHECK(!std::filesystem::exists(scratchFile("saved.pt.partial")));
    const auto restored = load(saved);
    CHECK_EQ(restored->name(), embedder->name());
    CHECK(restored->normalisation() == embedder->normalisation());
    CHECK(same(features(*restored, batch), after));
}
