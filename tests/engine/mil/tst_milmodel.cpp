// SPDX-License-Identifier: GPL-3.0-or-later
// MIL bag classifiers: shapes, attention, the instance head, DTFD's pseudo-bags and distillation.

#include "engine/mil/milmodel.h"
#include "engine/torchfile/statedictloader.h"

#include <ATen/CPUGeneratorImpl.h>

#include "enginecheck.h"

using namespace icmil::engine;

namespace {

MilModelConfig smallConfig(MilModelType type, int classes = 2)
{
    MilModelConfig config;
    config.type = type;
    config.inputDim = 24;
    config.embedDim = 16;
    config.attentionDim = 8;
    config.classes = classes;
    config.seed = 7;
    return config;
}

const MilModelType kTypes[] = {MilModelType::Abmil, MilModelType::MaxPool, MilModelType::Dtfd};

} // namespace

ENGINE_TEST(shapesAndAttentionSums)
{
    torch::manual_seed(1);
    for (MilModelType type : kTypes) {
        for (int classes : {2, 4}) {
            auto model = makeMilModel(smallConfig(type, classes));
            model->eval();
            for (std::int64_t n : {1, 2, 9, 40}) {
                const MilOutput out = model->forward(torch::randn({n, 24}));
                CHECK_EQ(out.logits.sizes().vec(), (std::vector<std::int64_t>{1, classes}));
                CHECK_EQ(out.attention.sizes().vec(), (std::vector<std::int64_t>{n}));
                CHECK_EQ(out.attentionRaw.sizes().vec(), (std::vector<std::int64_t>{n}));
                CHECK_NEAR(out.attention.sum().item<double>(), 1.0, 1e-5);
                CHECK(out.attention.min().item<double>() >= 0.0);
                if (type == MilModelType::Dtfd)
                    CHECK_EQ(out.tier1Logits.size(0), std::min<std::int64_t>(n, 5) == n ? n : (n + (n + 4) / 5 - 1) / ((n + 4) / 5));
                else
                    CHECK(!out.tier1Logits.defined());
            }
        }
    }
}

ENGINE_TEST(stateDictKeysAreTheReferences)
{
    const StateDict abmil = moduleStateDict(*makeMilModel(smallConfig(MilModelType::Abmil)));
    CHECK_EQ(abmil.keys(),
             (std::vector<std::string>{"dim_reduction.fc1.weight", "classifier.fc.weight", "classifier.fc.bias",
                                       "attention.attention_V.0.weight", "attention.attention_V.0.bias", "attention.attention_U.0.weight",
                                       "attention.attention_U.0.bias", "attention.attention_weights.weight",
                                       "attention.attention_weights.bias"}));
    const StateDict maxpool = moduleStateDict(*makeMilModel(smallConfig(MilModelType::MaxPool)));
    CHECK_EQ(maxpool.size(), std::size_t{3});
    const StateDict dtfd = moduleStateDict(*makeMilModel(smallConfig(MilModelType::Dtfd)));
    CHECK(dtfd.contains("att_classifier.attention.attention_V.0.weight"));
    CHECK(dtfd.contains("att_classifier.classifier.fc.bias"));
    CHECK_EQ(dtfd.size(), std::size_t{17});
    MilModelConfig residual = smallConfig(MilModelType::Abmil);
    residual.residualBlocks = 2;
    const StateDict withBlocks = moduleStateDict(*makeMilModel(residual));
    CHECK(withBlocks.contains("dim_reduction.resBlocks.1.block.2.weight"));
}

ENGINE_TEST(seededInitialisationIsReproducible)
{
    for (MilModelType type : kTypes) {
        const StateDict a = moduleStateDict(*makeMilModel(smallConfig(type)));
        const StateDict b = moduleStateDict(*makeMilModel(smallConfig(type)));
        MilModelConfig other = smallConfig(type);
        other.seed = 8;
        const StateDict c = moduleStateDict(*makeMilModel(other));
        for (std::size_t i = 0; i < a.size(); ++i) {
            CHECK(torch::equal(a.entries()[i].second, b.entries()[i].second));
            CHECK(!torch::equal(a.entries()[i].second, c.entries()[i].second));
        }
        // PyTorch's nn.Linear bound: 1 / sqrt(fan_in).
        const torch::Tensor fc1 = *a.find("dim_reduction.fc1.weight");
        CHECK(fc1.abs().max().item<double>() <= 1.0 / std::sqrt(24.0));
    }
}

ENGINE_TEST(instanceHeadEqualsBagHeadOnOneInstance)
{
    torch::manual_seed(2);
    for (MilModelType type : {MilModelType::Abmil, MilModelType::MaxPool}) {
        auto model = makeMilModel(smallConfig(type, 3));
        model->eval();
        const torch::Tensor one = torch::randn({1, 24});
        CHECK(torch::allclose(model->forward(one).logits, model->instanceLogits(one), 1e-6, 1e-6));
        const torch::Tensor many = torch::randn({5, 24});
        CHECK_EQ(model->instanceLogits(many).sizes().vec(), (std::vector<std::int64_t>{5, 3}));
        CHECK_EQ(model->embed(many).sizes().vec(), (std::vector<std::int64_t>{5, 16}));
    }
}

ENGINE_TEST(abmilIsTheAttentionWeightedSum)
{
    torch::manual_seed(3);
    auto model = makeMilModel(smallConfig(MilModelType::Abmil));
    model->eval();
    const torch::Tensor bag = torch::randn({6, 24});
    const MilOutput out = model->forward(bag);
    CHECK(torch::allclose(out.attention, torch::softmax(out.attentionRaw, 0)));
    const torch::Tensor pooled = (model->embed(bag) * out.attention.unsqueeze(1)).sum(0, true);
    // instanceLogits on a pooled "instance" is not defined, so compare against classifier(pooled)
    // through a one-row bag of the same embedding: the bag of one gives classifier(embed(x)).
    const auto named = model->named_children();
    auto classifier = named["classifier"];
    const torch::Tensor expected = classifier->as<LinearClassifier>()->forward(pooled);
    CHECK(torch::allclose(out.logits, expected, 1e-5, 1e-6));
    // Order does not matter.
    const torch::Tensor permuted = bag.index_select(0, torch::tensor({5, 3, 1, 0, 2, 4}));
    CHECK(torch::allclose(model->forward(permuted).logits, out.logits, 1e-5, 1e-6));
}

ENGINE_TEST(maxPoolAttentionIsTheShareOfDimensions)
{
    torch::manual_seed(4);
    auto model = makeMilModel(smallConfig(MilModelType::MaxPool));
    model->eval();
    const torch::Tensor bag = torch::randn({7, 24});
    const MilOutput out = model->forward(bag);
    CHECK_NEAR(out.attentionRaw.sum().item<double>(), 16.0, 1e-6);
    const torch::Tensor h = model->embed(bag);
    CHECK(torch::allclose(out.logits,
                          model->named_children()["classifier"]->as<LinearClassifier>()->forward(std::get<0>(h.max(0)).unsqueeze(0))));
}

ENGINE_TEST(dtfdPseudoBagsFollowTorchChunk)
{
    torch::manual_seed(5);
    auto model = makeMilModel(smallConfig(MilModelType::Dtfd));
    model->eval();
    // torch.chunk(7 rows, 5) gives 4 chunks of 2, 2, 2, 1; 3 rows give 3 chunks; 23 rows 5.
    CHECK_EQ(model->forward(torch::randn({7, 24})).tier1Logits.size(0), 4);
    CHECK_EQ(model->forward(torch::randn({3, 24})).tier1Logits.size(0), 3);
    CHECK_EQ(model->forward(torch::randn({23, 24})).tier1Logits.size(0), 5);
    // Eval ignores the generator; training with one draws a permutation (seeded: repeatable).
    const torch::Tensor bag = torch::randn({20, 24});
    at::Generator g1 = at::make_generator<at::CPUGeneratorImpl>(11);
    const torch::Tensor evalLogits = model->forward(bag, g1).logits;
    CHECK(torch::allclose(evalLogits, model->forward(bag).logits));
    model->train();
    at::Generator a = at::make_generator<at::CPUGeneratorImpl>(11);
    at::Generator b = at::make_generator<at::CPUGeneratorImpl>(11);
    at::Generator c = at::make_generator<at::CPUGeneratorImpl>(12);
    const torch::Tensor ta = model->forward(bag, a).tier1Logits;
    CHECK(torch::allclose(ta, model->forward(bag, b).tier1Logits));
    CHECK(!torch::allclose(ta, model->forward(bag, c).tier1Logits));
}

ENGINE_TEST(dtfdTier2InputIsDetached)
{
    torch::manual_seed(6);
    auto model = makeMilModel(smallConfig(MilModelType::Dtfd));
    model->train();
    const MilOutput out = model->forward(torch::randn({10, 24}));
    out.logits.sum().backward();
    const auto children = model->named_children();
    for (const auto &p : children["dim_reduction"]->parameters())
        CHECK(!p.grad().defined() || p.grad().abs().sum().item<double>() == 0.0);
    for (const auto &p : children["att_classifier"]->parameters())
        CHECK(p.grad().defined());
}

ENGINE_TEST(dtfdDistillationVariants)
{
    torch::manual_seed(7);
    const torch::Tensor bag = torch::randn({20, 24});
    for (DtfdDistillation d : {DtfdDistillation::Afs, DtfdDistillation::MaxS, DtfdDistillation::MaxMinS}) {
        MilModelConfig config = smallConfig(MilModelType::Dtfd);
        config.distillation = d;
        config.distilledInstances = 10; // 2 per pseudo-bag
        auto model = makeMilModel(config);
        model->eval();
        const MilOutput out = model->forward(bag);
        CHECK_EQ(out.logits.sizes().vec(), (std::vector<std::int64_t>{1, 2}));
        CHECK_EQ(out.tier1Logits.size(0), 5);
    }
    CHECK_EQ(parseDtfdDistillation("maxmins"), DtfdDistillation::MaxMinS);
    CHECK_THROWS_MESSAGE(parseDtfdDistillation("top"), "Unknown DTFD distillation 'top': expected AFS, MaxS or MaxMinS");
}

ENGINE_TEST(namesAndBadConfigs)
{
    CHECK_EQ(parseMilModelType("DTFD-MIL"), MilModelType::Dtfd);
    CHECK_EQ(parseMilModelType("AB-MIL"), MilModelType::Abmil);
    CHECK_EQ(milModelTypeName(MilModelType::MaxPool), std::string("maxpool"));
    CHECK_THROWS_MESSAGE(parseMilModelType("clam"), "Unknown MIL model 'clam': expected abmil, maxpool or dtfd");
    MilModelConfig one = smallConfig(MilModelType::Abmil, 1);
    CHECK_THROWS_MESSAGE(makeMilModel(one), "A MIL model needs at least 2 classes, not 1");
    MilModelConfig zero = smallConfig(MilModelType::Abmil);
    zero.inputDim = 0;
    CHECK_THROWS_MESSAGE(makeMilModel(zero), "A MIL model needs positive dimensions (input 0, embedding 16, attention 8)");
}
