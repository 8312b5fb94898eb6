// SPDX-License-Identifier: GPL-3.0-or-later
// Tests for engine/distributed: resolving rank, world size and rendezvous from torchrun's, srun's
// and --dist-url's words, and a real c10d group (TCPStore + Gloo) of two ranks on the loopback
// device, as two threads of this process: all-reduce, text gathering, barriers, a rank that
// never comes failing the other within the timeout instead of hanging it, and data-parallel
// fine-tuning steps that are one process's steps on the whole batch.

#include "common/freeport.h"
#include "common/loopbackjob.h"
#include "engine/distributed/distributedgroup.h"
#include "engine/distributed/distributedsettings.h"
#include "engine/embedders/embedder.h"
#include "engine/engineerror.h"
#include "engine/icmil/teacherstudent.h"
#include "engine/mil/milmodel.h"

#include <torch/torch.h>

#include <ATen/CPUGeneratorImpl.h>

#include "enginecheck.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <map>
#include <thread>

using namespace icmil::engine;

namespace {

EnvironmentLookup environment(std::map<std::string, std::string> variables)
{
    return [variables = std::move(variables)](const std::string &name) -> std::optional<std::string> {
        const auto found = variables.find(name);
        return found == variables.end() ? std::nullopt : std::optional<std::string>(found->second);
    };
}

std::string errorOf(const DistributedOptions &options, const std::map<std::string, std::string> &variables)
{
    try {
        resolveDistributed(options, environment(variables));
    } catch (const EngineError &error) {
        return error.what();
    }
    return "(no error)";
}

// ||a - b|| / ||b|| over all the tensors together.
double relativeDifference(const std::vector<torch::Tensor> &a, const std::vector<torch::Tensor> &b)
{
    double difference = 0.0;
    double norm = 0.0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        difference += (a[i].to(torch::kDouble) - b[i].to(torch::kDouble)).pow(2).sum().item<double>();
        norm += b[i].to(torch::kDouble).pow(2).sum().item<double>();
    }
    return a.size() == b.size() && norm > 0.0 ? std::sqrt(difference / norm) : 1.0;
}

std::vector<torch::Tensor> trainedWeights(TeacherStudentDistiller &distiller)
{
    std::vector<torch::Tensor> weights;
    for (const torch::Tensor &t : distiller.student().parameters())
        weights.push_back(t.detach().clone());
    for (const torch::Tensor &t : distiller.studentHead().parameters())
        weights.push_back(t.detach().clone());
    return weights;
}

} // namespace

ENGINE_TEST(aPlainProcessIsRankZeroOfOne)
{
    const DistributedSettings plain = resolveDistributed({}, environment({}));
    CHECK(!plain.active());
    CHECK_EQ(plain.rank, 0);
    CHECK_EQ(plain.worldSize, 1);
    CHECK_EQ(plain.describe(), std::string("a single process"));
    // torchrun with one process, and a batch script's own process (SLURM_NTASKS, no step): single.
    CHECK(!resolveDistributed({}, environment({{"RANK", "0"}, {"WORLD_SIZE", "1"}})).active());
    CHECK(!resolveDistributed({}, environment({{"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "0"}})).active());
}

ENGINE_TEST(torchrunsEnvironment)
{
    const DistributedSettings s = resolveDistributed({},
                                                     environment({{"RANK", "3"},
                                                                  {"WORLD_SIZE", "8"},
                                                                  {"LOCAL_RANK", "1"},
                                                                  {"LOCAL_WORLD_SIZE", "2"},
                                                                  {"MASTER_ADDR", "node0"},
                                                                  {"MASTER_PORT", "29500"}}));
    CHECK(s.active());
    CHECK_EQ(s.rank, 3);
    CHECK_EQ(s.worldSize, 8);
    CHECK_EQ(s.localRank, 1);
    CHECK_EQ(s.localWorldSize, 2);
    CHECK_EQ(s.host, std::string("node0"));
    CHECK_EQ(s.port, 29500);
    CHECK_EQ(s.describe(), std::string("rank 3 of 8 (torchrun, node0:29500)"));
    CHECK_EQ(errorOf({}, {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}),
             std::string("RANK and WORLD_SIZE say this is one process of a torchrun job, but MASTER_ADDR is not set"));
    CHECK_EQ(errorOf({}, {{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}}),
             std::string("rank 2 is not below the world size 2 (ranks count from 0)"));
    CHECK_EQ(errorOf({}, {{"RANK", "x1"}, {"WORLD_SIZE", "2"}}), std::string("RANK is 'x1', not a whole number"));
    CHECK_EQ(errorOf({}, {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "70000"}}),
             std::string("MASTER_PORT is 70000, outside 1 to 65535"));
}

ENGINE_TEST(srunsEnvironment)
{
    const DistributedSettings s = resolveDistributed(
        {},
        environment(
            {{"SLURM_PROCID", "5"}, {"SLURM_STEP_NUM_TASKS", "6"}, {"SLURM_LOCALID", "2"}, {"SLURM_LAUNCH_NODE_IPADDR", "10.0.0.7"}}));
    CHECK_EQ(s.rank, 5);
    CHECK_EQ(s.worldSize, 6);
    CHECK_EQ(s.localRank, 2);
    CHECK_EQ(s.host, std::string("10.0.0.7"));
    CHECK_EQ(s.port, 29500);
    CHECK_EQ(s.launcher, std::string("srun"));
    const DistributedSettings withMaster = resolveDistributed({},
                                                              environment({{"SLURM_PROCID", "0"},
                                                                           {"SLURM_STEP_NUM_TASKS", "2"},
                                                                           {"MASTER_ADDR", "gpu01"},
                                                                           {"MASTER_PORT", "12345"},
                                                                           {"SLURM_LAUNCH_NODE_IPADDR", "10.0.0.7"}}));
    CHECK_EQ(withMaster.host, std::string("gpu01"));
    CHECK_EQ(withMaster.port, 12345);
    CHECK_EQ(errorOf({}, {{"SLURM_PROCID", "0"}, {"SLURM_STEP_NUM_TASKS", "2"}}),
             std::string("SLURM_STEP_NUM_TASKS says this is one task of an srun step, but neither MASTER_ADDR nor "
                         "SLURM_LAUNCH_NODE_IPADDR names rank 0's host"));
}

ENGINE_TEST(distUrlOnTheCommandLine)
{
    DistributedOptions options;
    options.url = "tcp://127.0.0.1:23456";
    options.rank = 1;
    options.worldSize = 2;
    const DistributedSettings s = resolveDistributed(options, environment({}));
    CHECK_EQ(s.host, std::string("127.0.0.1"));
    CHECK_EQ(s.port, 23456);
    CHECK_EQ(s.rank, 1);
    CHECK_EQ(s.localRank, 1); // loopback: every rank is on this machine
    CHECK_EQ(s.localWorldSize, 2);
    CHECK_EQ(s.launcher, std::string("--dist-url"));
    options.url = "tcp://[::1]:80";
    CHECK_EQ(resolveDistributed(options, environment({})).host, std::string("::1"));
    // Rank and world size from the environment when the options leave them out.
    DistributedOptions urlOnly;
    urlOnly.url = "tcp://head:1234";
    const DistributedSettings fromEnv = resolveDistributed(urlOnly, environment({{"RANK", "0"}, {"WORLD_SIZE", "3"}, {"LOCAL_RANK", "0"}}));
    CHECK_EQ(fromEnv.worldSize, 3);
    CHECK_EQ(fromEnv.localWorldSize, 0); // another machine's host: not known
    CHECK_EQ(errorOf(urlOnly, {}), std::string("--dist-url needs --world-size but WORLD_SIZE is not set"));
    urlOnly.url = "http://head:1234";
    CHECK_EQ(errorOf(urlOnly, {}), std::string("--dist-url 'http://head:1234' is not tcp://HOST:PORT (rank 0's address and a free port)"));
    DistributedOptions rankOnly;
    rankOnly.rank = 0;
    CHECK_EQ(errorOf(rankOnly, {}), std::string("--rank and --world-size need --dist-url tcp://HOST:PORT (rank 0's address)"));
    DistributedOptions backend;
    backend.backend = "mpi";
    CHECK_EQ(errorOf(backend, {}), std::string("--dist-backend is 'mpi'; use auto, gloo or nccl"));
}

ENGINE_TEST(twoRanksReduceGatherAndMeet)
{
    if (!DistributedGroup::backendAvailable("gloo"))
        SKIP("this build has no Gloo headers (libgloo-dev)");
    const int port = icmil::test::freeLoopbackPort();
    auto rankWork = [port](int rank) {
        DistributedGroup group(icmil::test::loopbackSettings(rank, 2, port));
        std::vector<torch::Tensor> tensors{torch::full({3}, static_cast<float>(rank + 1)), torch::arange(4, torch::kDouble) * rank};
        for (torch::Tensor &tensor : tensors)
            group.allReduceSum(tensor, "test sum");
        group.barrier("test barrier");
        const std::vector<std::string> texts = group.allGatherText("test/texts", "rank " + std::to_string(rank));
        return std::make_tuple(tensors[0], tensors[1], texts, group.backendName());
    };
    auto other = std::async(std::launch::async, rankWork, 1);
    const auto [sum, doubles, texts, backend] = rankWork(0);
    const auto [sum1, doubles1, texts1, backend1] = other.get();
    CHECK(torch::equal(sum, torch::full({3}, 3.0f)));
    CHECK(torch::equal(sum1, sum));
    CHECK(torch::equal(doubles, torch::arange(4, torch::kDouble)));
    CHECK_EQ(texts, (std::vector<std::string>{"rank 0", "rank 1"}));
    CHECK_EQ(texts1, texts);
    CHECK_EQ(backend, std::string("gloo"));
}

ENGINE_TEST(aRankThatNeverComesFailsTheOtherInTime)
{
    if (!DistributedGroup::backendAvailable("gloo"))
        SKIP("this build has no Gloo headers (libgloo-dev)");
    const DistributedSettings settings = icmil::test::loopbackSettings(0, 2, icmil::test::freeLoopbackPort(), std::chrono::seconds(2));
    const auto start = std::chrono::steady_clock::now();
    std::string error = "(no error)";
    try {
        DistributedGroup group(settings);
    } catch (const EngineError &e) {
        error = e.what();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(error.starts_with("torch.distributed, rank 0 of 2 (test, 127.0.0.1:" + std::to_string(settings.port)
                            + "): joining the job at 127.0.0.1:" + std::to_string(settings.port) + " failed: "));
    CHECK(error.ends_with("(a rank that stopped or never started makes the others fail here after 2 s)"));
    CHECK(seconds < 30.0);
}

ENGINE_TEST(ncclIsRefusedWithAReason)
{
    DistributedSettings settings;
    settings.worldSize = 2;
    settings.backend = "nccl";
    CHECK_THROWS_MESSAGE(DistributedGroup{settings},
                         "torch.distributed: this build has no NCCL backend; use --dist-backend gloo (or auto)");
}

ENGINE_TEST(dataParallelFineTuningIsOneProcessOnTheWholeBatch)
{
    if (!DistributedGroup::backendAvailable("gloo"))
        SKIP("this build has no Gloo headers (libgloo-dev)");
    EmbedderConfig embedderConfig;
    embedderConfig.name = "tiny-cnn";
    embedderConfig.seed = 3;
    const std::unique_ptr<Embedder> embedder = makeEmbedder(embedderConfig);
    MilModelConfig head;
    head.type = MilModelType::Abmil;
    head.inputDim = embedder->featureDim();
    head.embedDim = 16;
    head.attentionDim = 8;
    head.seed = 5;
    const std::shared_ptr<MilModel> classifier = makeMilModel(head);
    // Everything that draws or normalises per batch: the crops and flips, stain jitter, the
    // confidence weights' min-max over the batch; known classes; sharp targets and a large
    // learning rate so that the weights move well beyond the tolerance.
    DistillationConfig config;
    config.learningRate = 1e-3;
    config.teacherTemperature = 0.5;
    config.confidenceWeighted = true;
    config.augmentation.stainJitter = 0.1;
    config.seed = 21;
    // Global batches of 5 (split 2 + 3), 4 (2 + 2) and 1 (rank 0 gets none of it).
    std::vector<torch::Tensor> batches, known;
    for (const std::int64_t n : {5, 4, 1}) {
        auto generator = at::make_generator<at::CPUGeneratorImpl>(static_cast<std::uint64_t>(40 + n));
        batches.push_back(torch::rand({n, 3, 64, 64}, generator));
        known.push_back(torch::full({n}, -1, torch::kLong));
    }
    known[0][1] = 0;
    known[1][3] = 1;

    TeacherStudentDistiller single(*embedder, *classifier, config);
    const std::vector<torch::Tensor> initial = trainedWeights(single);
    std::vector<DistillationLosses> singleLosses;
    for (std::size_t i = 0; i < batches.size(); ++i)
        singleLosses.push_back(single.step(batches[i], known[i]));
    DistillationAgreement singleAgreement;
    auto validationDraws = at::make_generator<at::CPUGeneratorImpl>(99);
    single.evaluate(batches[0], validationDraws, singleAgreement);
    const std::vector<torch::Tensor> expected = trainedWeights(single);

    const int port = icmil::test::freeLoopbackPort();
    auto rankWork = [&](int rank) {
        DistributedGroup group(icmil::test::loopbackSettings(rank, 2, port));
        TeacherStudentDistiller distiller(*embedder, *classifier, config, &group);
        std::vector<DistillationLosses> losses;
        for (std::size_t i = 0; i < batches.size(); ++i) {
            const std::int64_t n = batches[i].size(0);
            const std::int64_t low = n * rank / 2;
            const std::int64_t high = n * (rank + 1) / 2;
            losses.push_back(distiller.step(batches[i].slice(0, low, high), known[i].slice(0, low, high), BatchShard{n, low}));
        }
        DistillationAgreement agreement;
        auto draws = at::make_generator<at::CPUGeneratorImpl>(99);
        const std::int64_t n = batches[0].size(0);
        distiller.evaluate(batches[0].slice(0, n * rank / 2, n * (rank + 1) / 2), draws, agreement, BatchShard{n, n * rank / 2});
        distiller.reduceAgreement(agreement);
        return std::make_tuple(trainedWeights(distiller), losses, agreement);
    };
    auto other = std::async(std::launch::async, rankWork, 1);
    const auto [weights0, losses0, agreement0] = rankWork(0);
    const auto [weights1, losses1, agreement1] = other.get();

    // The ranks hold the same weights, bit for bit; they are one process's within 1e-5.
    CHECK_EQ(weights0.size(), expected.size());
    bool ranksEqual = weights0.size() == weights1.size();
    for (std::size_t i = 0; ranksEqual && i < weights0.size(); ++i)
        ranksEqual = torch::equal(weights0[i], weights1[i]);
    CHECK(ranksEqual);
    const double moved = relativeDifference(expected, initial);
    const double difference = relativeDifference(weights0, expected);
    CHECK(moved > 1e-3);
    CHECK(difference < 1e-5);
    std::printf("data-parallel fine-tuning: weights moved %.3g (relative), two ranks differ from one process by %.3g\n", moved, difference);
    for (std::size_t i = 0; i < singleLosses.size(); ++i) {
        CHECK(std::abs(losses0[i].total - singleLosses[i].total) <= 1e-5 * std::abs(singleLosses[i].total));
        CHECK(std::abs(losses0[i].student - singleLosses[i].student) <= 1e-5 * std::abs(singleLosses[i].student));
        CHECK(std::abs(losses0[i].embedding - singleLosses[i].embedding) <= 1e-5 * std::abs(singleLosses[i].embedding) + 1e-12);
        CHECK_EQ(losses1[i].total, losses0[i].total);
    }
    CHECK_EQ(agreement0.patches, singleAgreement.patches);
    CHECK_EQ(agreement0.elements, singleAgreement.elements);
    CHECK_EQ(agreement0.agreeing, singleAgreement.agreeing);
    CHECK(std::abs(agreement0.meanAbsoluteError() - singleAgreement.meanAbsoluteError()) <= 1e-5 * singleAgreement.meanAbsoluteError());
    CHECK_EQ(agreement1.absoluteErrorSum, agreement0.absoluteErrorSum);
}
