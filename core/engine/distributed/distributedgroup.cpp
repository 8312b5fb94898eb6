// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/distributed/distributedgroup.h"

#include "engine/engineerror.h"

#ifdef ICMIL_WITH_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

#include <exception>

namespace icmil::engine {

#ifdef ICMIL_WITH_GLOO
struct DistributedGroup::State {
    c10::intrusive_ptr<c10d::TCPStore> store;
    c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};
#else
struct DistributedGroup::State { };
#endif

namespace {

[[noreturn]] void rethrowAs(const std::string &what, const DistributedSettings &settings)
{
    try {
        throw;
    } catch (const EngineError &) {
        throw;
    } catch (const std::exception &error) {
        throw EngineError("torch.distributed, " + settings.describe() + ": " + what + " failed: " + error.what()
                          + " (a rank that stopped or never started makes the others fail here after "
                          + std::to_string(settings.timeout.count()) + " s)");
    }
}

} // namespace

bool DistributedGroup::backendAvailable(const std::string &backend)
{
#ifdef ICMIL_WITH_GLOO
    return backend == "gloo" || backend == "auto";
#else
    (void)backend;
    return false;
#endif
}

DistributedGroup::DistributedGroup(const DistributedSettings &settings) : m_settings(settings), m_state(std::make_unique<State>())
{
    if (!settings.active())
        throw EngineError("torch.distributed: a process group needs a world size above 1");
    if (settings.backend == "nccl")
        throw EngineError("torch.distributed: this build has no NCCL backend; use --dist-backend gloo (or auto)");
    if (!backendAvailable(settings.backend))
        throw EngineError("torch.distributed: this build of ICMIL Studio has no Gloo backend (LibTorch's c10d or Gloo's headers were "
                          "missing when it was built)");
#ifdef ICMIL_WITH_GLOO
    m_backendName = "gloo";
    try {
        c10d::TCPStoreOptions options;
        options.port = static_cast<std::uint16_t>(settings.port);
        options.isServer = settings.rank == 0;
        options.numWorkers = settings.worldSize;
        options.waitWorkers = true;
        options.timeout = settings.timeout;
        m_state->store = c10::make_intrusive<c10d::TCPStore>(settings.host, options);
        auto groupOptions = c10d::ProcessGroupGloo::Options::create();
        groupOptions->timeout = settings.timeout;
        // The interface that reaches rank 0's host: on one machine the loopback device.
        groupOptions->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(settings.host));
        groupOptions->threads = 1;
        m_state->group = c10::make_intrusive<c10d::ProcessGroupGloo>(m_state->store, settings.rank, settings.worldSize, groupOptions);
    } catch (...) {
        rethrowAs("joining the job at " + settings.host + ":" + std::to_string(settings.port), settings);
    }
#endif
}

DistributedGroup::~DistributedGroup() = default;

void DistributedGroup::barrier(const std::string &step)
{
#ifdef ICMIL_WITH_GLOO
    try {
        m_state->group->barrier()->wait();
    } catch (...) {
        rethrowAs("waiting for every rank (" + step + ")", m_settings);
    }
#else
    (void)step;
#endif
}

void DistributedGroup::allReduce(torch::Tensor &tensor, Reduction reduction, const std::string &step)
{
#ifdef ICMIL_WITH_GLOO
    try {
        c10d::AllreduceOptions options;
        options.reduceOp = reduction == Reduction::Sum ? c10d::ReduceOp::SUM
            : reduction == Reduction::Min              ? c10d::ReduceOp::MIN
                                                       : c10d::ReduceOp::MAX;
        std::vector<torch::Tensor> one{tensor};
        m_state->group->allreduce(one, options)->wait();
    } catch (...) {
        rethrowAs("reducing over the ranks (" + step + ")", m_settings);
    }
#else
    (void)tensor;
    (void)reduction;
    (void)step;
#endif
}

void DistributedGroup::allReduceGradients(const std::vector<torch::Tensor> &parameters, const std::string &step, std::int64_t bucketBytes)
{
    // Buckets of parameters of one dtype and device, in reverse order.
    struct Bucket {
        std::vector<torch::Tensor> parameters;
        std::int64_t bytes = 0;
        torch::Tensor flat;
    };
    std::vector<Bucket> buckets;
    for (auto it = parameters.rbegin(); it != parameters.rend(); ++it) {
        const torch::Tensor &parameter = *it;
        if (!parameter.grad().defined())
            parameter.mutable_grad() = torch::zeros_like(parameter);
        const std::int64_t bytes = parameter.numel() * static_cast<std::int64_t>(parameter.element_size());
        const bool fits = !buckets.empty() && buckets.back().bytes + bytes <= bucketBytes
            && buckets.back().parameters.front().scalar_type() == parameter.scalar_type()
            && buckets.back().parameters.front().device() == parameter.device();
        if (!fits)
            buckets.emplace_back();
        buckets.back().parameters.push_back(parameter);
        buckets.back().bytes += bytes;
    }
#ifdef ICMIL_WITH_GLOO
    try {
        std::vector<c10::intrusive_ptr<c10d::Work>> started;
        for (Bucket &bucket : buckets) {
            std::vector<torch::Tensor> grads;
            for (const torch::Tensor &parameter : bucket.parameters)
                grads.push_back(parameter.grad().reshape({-1}));
            bucket.flat = torch::cat(grads);
            std::vector<torch::Tensor> one{bucket.flat};
            started.push_back(m_state->group->allreduce(one));
        }
        for (std::size_t i = 0; i < buckets.size(); ++i) {
            started[i]->wait();
            std::int64_t offset = 0;
            for (const torch::Tensor &parameter : buckets[i].parameters) {
                torch::Tensor grad = parameter.grad();
                grad.copy_(buckets[i].flat.narrow(0, offset, parameter.numel()).view_as(grad));
                offset += parameter.numel();
            }
        }
    } catch (...) {
        rethrowAs("summing gradients over the ranks (" + step + ")", m_settings);
    }
#else
    (void)step;
#endif
}

std::vector<std::string> DistributedGroup::allGatherText(const std::string &key, const std::string &mine)
{
    std::vector<std::string> all;
#ifdef ICMIL_WITH_GLOO
    try {
        m_state->store->set(key + "/" + std::to_string(m_settings.rank), std::vector<std::uint8_t>(mine.begin(), mine.end()));
        for (int rank = 0; rank < m_settings.worldSize; ++rank) {
            const std::vector<std::uint8_t> bytes = m_state->store->get(key + "/" + std::to_string(rank));
            all.emplace_back(bytes.begin(), bytes.end());
        }
    } catch (...) {
        rethrowAs("gathering " + key + " from every rank", m_settings);
    }
#else
    (void)key;
    all.push_back(mine);
#endif
    return all;
}

} // namespace icmil::engine
