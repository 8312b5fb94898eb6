// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/distributed/distributedgroup.h"
#include "engine/distributed/distributedsettings.h"

#include <memory>
#include <string>

namespace icmil::cli {

// This process's part in a torch.distributed job (torchrun, srun or --dist-url), for a command
// that shares its work: the group, or none for a plain process.
struct DistributedRun {
    engine::DistributedSettings settings;
    std::unique_ptr<engine::DistributedGroup> group;

    bool active() const { return group != nullptr; }
    int rank() const { return settings.rank; }
    int worldSize() const { return settings.worldSize; }
    bool leader() const { return settings.rank == 0; }
};

// Resolves the settings, joins the group and says so in one line ("torch.distributed: rank 1 of 2
// (torchrun, 10.0.0.1:29500), Gloo, device cpu, 1 intra-op thread"). It adapts what one machine's
// processes share: `device` "auto" / "cuda" becomes the rank's GPU cuda:LOCAL_RANK where CUDA is
// usable; intra-op threads (unless OMP_NUM_THREADS is set, as torchrun does) and `readers` 0 (all
// cores) become the cores divided by the processes on this machine. A plain process is untouched.
DistributedRun joinDistributed(const engine::DistributedOptions &options, std::string &device, int &readers);

} // namespace icmil::cli
