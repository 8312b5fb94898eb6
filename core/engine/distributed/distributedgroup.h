// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/distributed/distributedsettings.h"

#include <torch/types.h>

#include <cstdint>
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
    enum class Reduction { Sum, Min, Max };
    // Reduces the tensor in place over all ranks (a CPU tensor with Gloo): every rank gets the
    // same result. One tensor per call: to reduce many, flatten them into one (or use
    // allReduceGradients).
    void allReduce(torch::Tensor &tensor, Reduction reduction, const std::string &step);
    void allReduceSum(torch::Tensor &tensor, const std::string &step) { allReduce(tensor, Reduction::Sum, step); }
    // Sums the gradients of `parameters` over all ranks, in place, the way PyTorch's
    // DistributedDataParallel does: flattened into buckets of at most `bucketBytes` (parameters in
    // reverse order, the order backward produces them), all buckets' all-reduces started before the
    // first is waited for, so Gloo's transfers of one overlap the copies of the next. A parameter
    // without a gradient (unused this step) takes part with zeros, so every rank sends the same
    // buckets. Every rank must pass the same parameters in the same order.
    void allReduceGradients(const std::vector<torch::Tensor> &parameters, const std::string &step, std::int64_t bucketBytes = 25ll << 20);
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
