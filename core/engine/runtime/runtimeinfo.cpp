// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/runtime/runtimeinfo.h"

#include "common/asciicase.h"
#include "engine/engineerror.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <sstream>

#if defined(__linux__)
#include <dlfcn.h>
#include <unistd.h>
#endif

namespace icmil::engine {

DeviceChoice parseDevice(const std::string &text)
{
    const std::string spelling = asciiLower(text);
    if (spelling == "auto")
        return {DeviceKind::Auto, 0};
    if (spelling == "cpu")
        return {DeviceKind::Cpu, 0};
    if (spelling == "cuda")
        return {DeviceKind::Cuda, 0};
    const std::string prefix = "cuda:";
    if (spelling.starts_with(prefix)) {
        const std::string digits = spelling.substr(prefix.size());
        const bool onlyDigits = !digits.empty() && digits.size() <= 6
            && std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
        int index = 0;
        if (onlyDigits && std::from_chars(digits.data(), digits.data() + digits.size(), index).ec == std::errc())
            return {DeviceKind::Cuda, index};
    }
    throw EngineError("Unknown device '" + text + "': expected auto, cpu, cuda or cuda:N");
}

std::string formatDevice(const DeviceChoice &choice)
{
    switch (choice.kind) {
    case DeviceKind::Auto: return "auto";
    case DeviceKind::Cpu: return "cpu";
    case DeviceKind::Cuda: break;
    }
    return "cuda:" + std::to_string(choice.index);
}

std::string describe(const RuntimeInfo &info)
{
    std::ostringstream line;
    line << "LibTorch " << info.torchVersion << " | CPU: " << info.intraOpThreads << " of " << info.hardwareThreads << " threads ("
         << info.parallelBackend << ") | BLAS: " << info.blasHint;
    if (info.blasThreads > 0)
        line << " (" << info.blasThreads << (info.blasThreads == 1 ? " thread)" : " threads)");
    line << " | CUDA: " << describeCuda(info);
    return line.str();
}

std::string describeCuda(const RuntimeInfo &info)
{
    if (info.cudaAvailable) {
        return std::to_string(info.cudaDeviceCount) + (info.cudaDeviceCount == 1 ? " device" : " devices")
            + (info.cudnnAvailable ? ", cuDNN" : ", no cuDNN");
    }
    return info.cudaBuilt ? "built in, no usable device" : "not in this build";
}

void preferPassiveOpenMpWait(char **argv)
{
#if defined(__linux__)
    if (std::getenv("OMP_WAIT_POLICY") || !argv || !argv[0])
        return;
    if (::setenv("OMP_WAIT_POLICY", "PASSIVE", 0) != 0)
        return;
    // A program that loads LibTorch (and with it libgomp) only later, on demand, is done: libgomp
    // will read the variable when it is loaded. Otherwise libgomp has read it already.
    if (void *gomp = ::dlopen("libgomp.so.1", RTLD_LAZY | RTLD_NOLOAD); gomp == nullptr)
        return;
    else
        ::dlclose(gomp);
    ::execv("/proc/self/exe", argv); // returns only on failure: then go on as we are
#else
    (void)argv;
#endif
}

} // namespace icmil::engine
