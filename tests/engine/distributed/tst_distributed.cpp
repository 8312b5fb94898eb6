// SPDX-License-Identifier: GPL-3.0-or-later
// Tests for engine/distributed: resolving rank, world size and rendezvous from torchrun's, srun's
// and --dist-url's words, and a real c10d group (TCPStore + Gloo) of two ranks on the loopback
// device, as two threads of this process: all-reduce, text gathering, barriers, and a rank that
// never comes failing the other within the timeout instead of hanging it.

#include "common/freeport.h"
#include "engine/distributed/distributedgroup.h"
#include "engine/distributed/distributedsettings.h"
#include "engine/engineerror.h"

#include <torch/torch.h>

#include "enginecheck.h"

#include <chrono>
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
        DistributedSettings settings;
        settings.rank = rank;
        settings.worldSize = 2;
        settings.host = "127.0.0.1";
        settings.port = port;
        settings.launcher = "test";
        settings.timeout = std::chrono::seconds(60);
        DistributedGroup group(settings);
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
    DistributedSettings settings;
    settings.rank = 0;
    settings.worldSize = 2;
    settings.host = "127.0.0.1";
    settings.port = icmil::test::freeLoopbackPort();
    settings.launcher = "test";
    settings.timeout = std::chrono::seconds(2);
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
