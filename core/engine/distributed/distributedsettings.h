// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace icmil::engine {

// Which process of a torch.distributed job this one is, and where the job meets: what torchrun,
// Slurm's srun or `--dist-url` say (resolveDistributed). A plain process is rank 0 of 1, and
// nothing distributed happens. No LibTorch here: the CLI resolves it before loading any model.
struct DistributedSettings {
    int rank = 0;
    int worldSize = 1;
    int localRank = 0;                  // the process's index on its machine: it takes GPU localRank
    int localWorldSize = 0;             // processes on this machine; 0: not known
    std::string host;                   // rank 0's rendezvous (a TCPStore) ...
    int port = 0;                       // ... and its port
    std::string backend = "auto";       // auto (NCCL with CUDA devices, Gloo otherwise), gloo or nccl
    std::string launcher;               // "torchrun", "srun", "--dist-url"; empty for a plain process
    std::chrono::seconds timeout{1800}; // the longest any rank waits for the others

    bool active() const { return worldSize > 1; }
    // "rank 1 of 4 (torchrun, 127.0.0.1:29500)"; "a single process" when not active.
    std::string describe() const;
};

// What the command line says (`--dist-url tcp://HOST:PORT --rank R --world-size W`,
// `--dist-backend`, `--dist-timeout`); unset fields come from the environment.
struct DistributedOptions {
    std::string url;
    std::optional<int> rank;
    std::optional<int> worldSize;
    std::string backend = "auto";
    int timeoutSeconds = 1800;
};

// Reads one environment variable; std::getenv's in the program, a map in the tests.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string &name)>;
EnvironmentLookup processEnvironment();

// The first that applies: `--dist-url` (rank and world size from the options, else RANK and
// WORLD_SIZE); torchrun's RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT; srun's SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID with MASTER_ADDR (else
// SLURM_LAUNCH_NODE_IPADDR) and MASTER_PORT (else 29500). Only srun's job steps set
// SLURM_STEP_NUM_TASKS, so a batch script's own process (which has SLURM_NTASKS) stays single.
// Anything missing or out of range throws EngineError naming the variable or option.
DistributedSettings resolveDistributed(const DistributedOptions &options, const EnvironmentLookup &environment);

} // namespace icmil::engine
