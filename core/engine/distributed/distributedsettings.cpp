// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/distributed/distributedsettings.h"

#include "engine/engineerror.h"

#include <charconv>
#include <cstdlib>

namespace icmil::engine {

namespace {

// A whole number from an option or a variable, or EngineError naming where it came from.
int wholeNumber(const std::string &text, const std::string &name, int lowest, int highest)
{
    int value = 0;
    const char *end = text.data() + text.size();
    const auto [at, error] = std::from_chars(text.data(), end, value);
    if (text.empty() || error != std::errc() || at != end)
        throw EngineError(name + " is '" + text + "', not a whole number");
    if (value < lowest || value > highest)
        throw EngineError(name + " is " + text + ", outside " + std::to_string(lowest) + " to " + std::to_string(highest));
    return value;
}

struct Variables {
    const EnvironmentLookup &lookup;
    std::optional<std::string> get(const std::string &name) const
    {
        std::optional<std::string> value = lookup(name);
        if (value && value->empty())
            return std::nullopt;
        return value;
    }
    std::string required(const std::string &name, const std::string &why) const
    {
        const std::optional<std::string> value = get(name);
        if (!value)
            throw EngineError(why + " but " + name + " is not set");
        return *value;
    }
};

void parseUrl(const std::string &url, DistributedSettings &settings)
{
    const std::string scheme = "tcp://";
    const std::size_t colon = url.rfind(':');
    if (!url.starts_with(scheme) || colon == std::string::npos || colon < scheme.size() + 1)
        throw EngineError("--dist-url '" + url + "' is not tcp://HOST:PORT (rank 0's address and a free port)");
    settings.host = url.substr(scheme.size(), colon - scheme.size());
    if (settings.host.starts_with('[') && settings.host.ends_with(']'))
        settings.host = settings.host.substr(1, settings.host.size() - 2);
    settings.port = wholeNumber(url.substr(colon + 1), "--dist-url's port", 1, 65535);
}

bool isLoopback(const std::string &host)
{
    return host == "localhost" || host == "::1" || host.starts_with("127.");
}

} // namespace

std::string DistributedSettings::describe() const
{
    if (!active())
        return "a single process";
    return "rank " + std::to_string(rank) + " of " + std::to_string(worldSize) + " (" + launcher + ", " + host + ":" + std::to_string(port)
        + ")";
}

EnvironmentLookup processEnvironment()
{
    return [](const std::string &name) -> std::optional<std::string> {
        const char *value = std::getenv(name.c_str());
        return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
    };
}

DistributedSettings resolveDistributed(const DistributedOptions &options, const EnvironmentLookup &environment)
{
    const Variables env{environment};
    DistributedSettings settings;
    if (options.backend != "auto" && options.backend != "gloo" && options.backend != "nccl")
        throw EngineError("--dist-backend is '" + options.backend + "'; use auto, gloo or nccl");
    settings.backend = options.backend;
    if (options.timeoutSeconds < 1)
        throw EngineError("--dist-timeout must be at least 1 second");
    settings.timeout = std::chrono::seconds(options.timeoutSeconds);
    if (!options.url.empty() && (options.rank || options.worldSize) && !(options.rank && options.worldSize))
        throw EngineError("--rank and --world-size go together");
    if (options.url.empty() && (options.rank || options.worldSize))
        throw EngineError("--rank and --world-size need --dist-url tcp://HOST:PORT (rank 0's address)");

    const int maxRanks = 1 << 20;
    if (!options.url.empty()) {
        settings.launcher = "--dist-url";
        parseUrl(options.url, settings);
        settings.worldSize = options.worldSize
            ? *options.worldSize
            : wholeNumber(env.required("WORLD_SIZE", "--dist-url needs --world-size"), "WORLD_SIZE", 1, maxRanks);
        settings.rank = options.rank ? *options.rank : wholeNumber(env.required("RANK", "--dist-url needs --rank"), "RANK", 0, maxRanks);
        if (const auto local = env.get("LOCAL_RANK"))
            settings.localRank = wholeNumber(*local, "LOCAL_RANK", 0, maxRanks);
        else if (const auto slurmLocal = env.get("SLURM_LOCALID"))
            settings.localRank = wholeNumber(*slurmLocal, "SLURM_LOCALID", 0, maxRanks);
        else if (isLoopback(settings.host))
            settings.localRank = settings.rank;
        if (isLoopback(settings.host))
            settings.localWorldSize = settings.worldSize;
    } else if (env.get("RANK") || env.get("WORLD_SIZE")) {
        settings.launcher = "torchrun";
        const std::string why = "RANK and WORLD_SIZE say this is one process of a torchrun job,";
        settings.worldSize = wholeNumber(env.required("WORLD_SIZE", why), "WORLD_SIZE", 1, maxRanks);
        settings.rank = wholeNumber(env.required("RANK", why), "RANK", 0, maxRanks);
        settings.localRank = env.get("LOCAL_RANK") ? wholeNumber(*env.get("LOCAL_RANK"), "LOCAL_RANK", 0, maxRanks) : 0;
        if (const auto local = env.get("LOCAL_WORLD_SIZE"))
            settings.localWorldSize = wholeNumber(*local, "LOCAL_WORLD_SIZE", 1, maxRanks);
        if (settings.worldSize > 1) {
            settings.host = env.required("MASTER_ADDR", why);
            settings.port = wholeNumber(env.required("MASTER_PORT", why), "MASTER_PORT", 1, 65535);
        }
    } else if (env.get("SLURM_STEP_NUM_TASKS") && env.get("SLURM_PROCID")) {
        settings.launcher = "srun";
        settings.worldSize = wholeNumber(*env.get("SLURM_STEP_NUM_TASKS"), "SLURM_STEP_NUM_TASKS", 1, maxRanks);
        settings.rank = wholeNumber(*env.get("SLURM_PROCID"), "SLURM_PROCID", 0, maxRanks);
        settings.localRank = env.get("SLURM_LOCALID") ? wholeNumber(*env.get("SLURM_LOCALID"), "SLURM_LOCALID", 0, maxRanks) : 0;
        if (settings.worldSize > 1) {
            const auto master = env.get("MASTER_ADDR") ? env.get("MASTER_ADDR") : env.get("SLURM_LAUNCH_NODE_IPADDR");
            if (!master)
                throw EngineError("SLURM_STEP_NUM_TASKS says this is one task of an srun step, but neither MASTER_ADDR nor "
                                  "SLURM_LAUNCH_NODE_IPADDR names rank 0's host");
            settings.host = *master;
            settings.port = env.get("MASTER_PORT") ? wholeNumber(*env.get("MASTER_PORT"), "MASTER_PORT", 1, 65535) : 29500;
        }
    }
    if (settings.rank >= settings.worldSize)
        throw EngineError("rank " + std::to_string(settings.rank) + " is not below the world size " + std::to_string(settings.worldSize)
                          + " (ranks count from 0)");
    if (!settings.active()) {
        DistributedSettings single;
        single.backend = settings.backend;
        single.timeout = settings.timeout;
        return single;
    }
    return settings;
}

} // namespace icmil::engine
