// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The settings of one rank of a torch.distributed job whose ranks all run on this machine, met on
// the loopback device (tests and benchmarks: threads of one process or processes it starts).
// No Qt: the engine's tests use it too.

#include "engine/distributed/distributedsettings.h"

#include <chrono>
#include <string>

namespace icmil::test {

inline engine::DistributedSettings loopbackSettings(int rank, int worldSize, int port,
                                                    std::chrono::seconds timeout = std::chrono::seconds(60), std::string launcher = "test")
{
    engine::DistributedSettings settings;
    settings.rank = rank;
    settings.worldSize = worldSize;
    settings.host = "127.0.0.1";
    settings.port = port;
    settings.launcher = std::move(launcher);
    settings.timeout = timeout;
    return settings;
}

} // namespace icmil::test
