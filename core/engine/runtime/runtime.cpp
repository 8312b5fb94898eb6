// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/runtime/runtime.h"

#include "engine/runtime/blasprobe.h"
#include "engine/engineerror.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <string_view>
#include <thread>

namespace icmil::engine {

namespace {

std::atomic<int> g_configuredThreads{0}; // the count configureThreads() set last; 0: never called

// The build settings of the LibTorch library actually loaded (not of its headers).
const std::string &libraryBuildConfig()
{
    static const std::string config = [] {
        try {
            return at::show_config();
        } catch (const std::exception &) { // a CUDA build may query its runtime here; never fatal
            return std::string();
        }
    }();
    return config;
}

bool libraryBuiltWithCuda()
{
    const std::string &config = libraryBuildConfig();
    return config.find("USE_CUDA=ON") != std::string::npos || config.find("USE_ROCM=ON") != std::string::npos;
}

// "OpenMP" from the "ATen parallel backend: OpenMP" line of at::get_parallel_info().
std::string parallelBackendName()
{
    const std::string info = at::get_parallel_info();
    const std::string label = "ATen parallel backend: ";
    const auto start = info.find(label);
    if (start == std::string::npos)
        return "unknown";
    const auto valueStart = start + label.size();
    const auto end = info.find('\n', valueStart);
    return info.substr(valueStart, end == std::string::npos ? std::string::npos : end - valueStart);
}

int cudaDeviceCount()
{
    return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

} // namespace

int configureThreads(int requested)
{
    if (requested < 0)
        throw EngineError("Thread count must be 0 (all hardware threads) or more, got " + std::to_string(requested));
    int count = requested;
    if (count == 0)
        count = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    at::set_num_threads(count);
    setBlasThreads(count);
    g_configuredThreads = count;
    return at::get_num_threads();
}

int adoptConfiguredThreads()
{
    if (const int count = g_configuredThreads; count > 0 && count != at::get_num_threads())
        at::set_num_threads(count); // the BLAS's pool is process-wide: configureThreads() set it
    return at::get_num_threads();
}

c10::Device resolveDevice(const DeviceChoice &choice)
{
    const bool cudaAvailable = torch::cuda::is_available();
    switch (choice.kind) {
    case DeviceKind::Cpu: return c10::Device(c10::DeviceType::CPU);
    case DeviceKind::Auto: return cudaAvailable ? c10::Device(c10::DeviceType::CUDA, 0) : c10::Device(c10::DeviceType::CPU);
    case DeviceKind::Cuda: break;
    }
    if (!cudaAvailable) {
        if (!libraryBuiltWithCuda())
            throw EngineError("CUDA was requested but this LibTorch build has no usable CUDA device (LibTorch " TORCH_VERSION
                              ", CPU only)");
        throw EngineError("CUDA was requested but no CUDA device is usable (LibTorch " TORCH_VERSION
                          " built with CUDA: check the NVIDIA driver and CUDA_VISIBLE_DEVICES)");
    }
    const int count = cudaDeviceCount();
    if (choice.index < 0 || choice.index >= count) {
        const std::string visible = count == 1
            ? "only 1 CUDA device is visible (cuda:0)"
            : "only " + std::to_string(count) + " CUDA devices are visible (cuda:0 to cuda:" + std::to_string(count - 1) + ")";
        throw EngineError("CUDA device cuda:" + std::to_string(choice.index) + " was requested but " + visible);
    }
    return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(choice.index));
}

RuntimeInfo runtimeInfo()
{
    RuntimeInfo info;
    info.torchVersion = TORCH_VERSION;
    info.intraOpThreads = at::get_num_threads();
    info.interOpThreads = at::get_num_interop_threads();
    info.hardwareThreads = static_cast<int>(std::thread::hardware_concurrency());
    info.parallelBackend = parallelBackendName();
    const BlasInfo blas = probeBlas();
    info.blasHint = blas.description;
    info.blasThreads = blas.threads;
    info.cudaAvailable = torch::cuda::is_available();
    info.cudaBuilt = info.cudaAvailable || libraryBuiltWithCuda();
    info.cudaDeviceCount = cudaDeviceCount();
    info.cudnnAvailable = info.cudaAvailable && torch::cuda::cudnn_is_available();
    return info;
}

void seedEverything(std::uint64_t seed)
{
    at::manual_seed(seed); // the CPU generator, and CUDA's when LibTorch sees a device
    if (torch::cuda::is_available())
        torch::cuda::manual_seed_all(seed);
}

bool isOutOfMemory(const std::exception &error)
{
    const std::string_view what = error.what();
    return what.find("out of memory") != std::string_view::npos || what.find("OutOfMemory") != std::string_view::npos;
}

void runInChunks(std::int64_t count, int &chunk, const std::function<void(std::int64_t, std::int64_t)> &work,
                 const std::function<void(int)> &halved)
{
    chunk = std::max(1, chunk);
    std::int64_t offset = 0;
    while (offset < count) {
        const std::int64_t size = std::min<std::int64_t>(chunk, count - offset);
        try {
            work(offset, size);
            offset += size;
        } catch (const std::exception &error) {
            if (!isOutOfMemory(error))
                throw;
            if (chunk == 1) {
                const std::string what = error.what();
                throw EngineError("Out of memory with 1 item per batch: " + what.substr(0, what.find('\n')));
            }
            chunk = std::max(1, chunk / 2);
            if (halved)
                halved(chunk);
        }
    }
}

} // namespace icmil::engine
