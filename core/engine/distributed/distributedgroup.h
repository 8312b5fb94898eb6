// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/distributed/distributedsettings.h"

#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

namespace icmil::engine {

// One process's membership of a torch.distributed job: LibTorch's c10d, a TCPStore served by rank 0
// (the rendezvous, and small values the ranks exchange) and a process group for collectives
// (ProcessGroupGloo; NCCL is not built in yet, see docs/ARCHITECTURE.md). Every rank must make the
// same calls in the same order. A rank that does not arrive within the settings' timeout makes
// the others' call throw EngineError naming the step, so a dead rank stops the job instead of
// hanging it.
class DistributedGroup {
public:
    // Connects: rank 0 serves the store and waits for the others. Throws EngineError when the
    // backend is not available or the rendezvous fails (address in use, unreachable host, timeout).
    explicit DistributedGroup(const DistributedSettings &settings);
    ~DistributedGroup();
    DistributedGroup(const DistributedGroup &) = delete;
    DistributedGroup &operator=(const DistributedGroup &) = delete;

    const DistributedSettings &settings() const { return m_settings; }
    int rank() const { return m_settings.rank; }
    int worldSize() const { return m_settings.worldSize; }
    const std::string &backendName() const { return m_backendName; }

    // Waits until every rank has called barrier(step). `step` names it in errors.
    void barrier(const std::string &step);
    // Sums the tensor in place over all ranks (a CPU tensor with Gloo). One tensor per call: to
    // reduce many (gradients), flatten them into one.
    void allReduceSum(torch::Tensor &tensor, const std::string &step);
    // Every rank's `mine`, in rank order, on every rank (through the store: for reports and
    // plans of a few kilobytes, not for tensors). `key` must be unique per call.
    std::vector<std::string> allGatherText(const std::string &key, const std::string &mine);

    // Whether this build has a backend for these settings ("gloo" always where c10d has it).
    static bool backendAvailable(const std::string &backend);

private:
    struct State;
    DistributedSettings m_settings;
    std::string m_backendName;
    std::unique_ptr<State> m_state;
};

} // namespace icmil::engine
