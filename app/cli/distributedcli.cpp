// SPDX-License-Identifier: GPL-3.0-or-later
#include "distributedcli.h"

#include "engine/runtime/runtime.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace icmil::cli {

DistributedRun joinDistributed(const engine::DistributedOptions &options, std::string &device, int &readers)
{
    DistributedRun run;
    run.settings = engine::resolveDistributed(options, engine::processEnvironment());
    if (!run.settings.active())
        return run;
    const engine::DistributedSettings &settings = run.settings;

    const engine::DeviceChoice choice = engine::parseDevice(device);
    const bool cuda = engine::runtimeInfo().cudaAvailable;
    if ((choice.kind == engine::DeviceKind::Auto && cuda) || (choice.kind == engine::DeviceKind::Cuda && choice.index == 0))
        device = "cuda:" + std::to_string(settings.localRank);
    else if (choice.kind == engine::DeviceKind::Auto)
        device = "cpu";

    int threads = engine::runtimeInfo().intraOpThreads;
    const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (settings.localWorldSize > 0) {
        const int perProcess = std::max(1, cores / settings.localWorldSize);
        if (std::getenv("OMP_NUM_THREADS") == nullptr)
            threads = engine::configureThreads(perProcess);
        if (readers == 0)
            readers = perProcess;
    }

    std::cout << "torch.distributed: " << settings.describe() << ", joining ..." << std::endl;
    run.group = std::make_unique<engine::DistributedGroup>(settings);
    std::cout << "torch.distributed: rank " << settings.rank << " of " << settings.worldSize << " joined (" << run.group->backendName()
              << "), device " << device << ", " << threads << " intra-op thread(s)" << std::endl;
    return run;
}

} // namespace icmil::cli
