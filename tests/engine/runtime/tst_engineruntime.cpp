// SPDX-License-Identifier: GPL-3.0-or-later
// Tests for engine/runtime/runtime.h: threads, device choice, runtime description, seeding.
// Written to pass on this CPU-only machine and on a CUDA server alike.

#include "enginecheck.h"

#include "engine/runtime/blasprobe.h"
#include "engine/engineerror.h"
#include "engine/runtime/runtime.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>
#include <torch/types.h>
#include <torch/version.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace icmil::engine;

namespace {

int hardwareThreads()
{
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

bool openBlasLoaded()
{
    return probeBlas().description.starts_with("OpenBLAS");
}

std::string unknownDeviceMessage(const std::string &text)
{
    return "Unknown device '" + text + "': expected auto, cpu, cuda or cuda:N";
}

} // namespace

ENGINE_TEST(configureThreadsZeroUsesEveryHardwareThread)
{
    const int inEffect = configureThreads(0);
    CHECK_EQ(inEffect, hardwareThreads());
    CHECK_EQ(at::get_num_threads(), hardwareThreads());
    if (openBlasLoaded())
        CHECK_EQ(probeBlas().threads, hardwareThreads());
}

ENGINE_TEST(configureThreadsOneSetsOne)
{
    CHECK_EQ(configureThreads(1), 1);
    CHECK_EQ(at::get_num_threads(), 1);
    if (openBlasLoaded())
        CHECK_EQ(probeBlas().threads, 1);
    configureThreads(0);
}

ENGINE_TEST(adoptConfiguredThreadsBringsAWorkerThreadUpToDate)
{
    configureThreads(0);
    std::mutex mutex;
    std::condition_variable changed;
    int step = 0; // 0 worker starting, 1 worker ran parallel work, 2 main set 1 thread, 3 worker adopted
    int before = 0, stale = 0, adopted = 0;
    std::thread worker([&] {
        at::parallel_for(0, 1000, 1, [](std::int64_t, std::int64_t) {}); // LibTorch reads the count into this thread
        before = at::get_num_threads();
        std::unique_lock lock(mutex);
        step = 1;
        changed.notify_all();
        changed.wait(lock, [&] { return step == 2; });
        stale = at::get_num_threads();
        adopted = adoptConfiguredThreads();
        step = 3;
        changed.notify_all();
    });
    {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return step == 1; });
        configureThreads(1);
        step = 2;
        changed.notify_all();
        changed.wait(lock, [&] { return step == 3; });
    }
    worker.join();
    CHECK_EQ(before, hardwareThreads());
    CHECK_EQ(adopted, 1);
    // Without adopting, OpenMP kept the worker's old count (on a 1-core machine both are 1).
    CHECK_EQ(stale, hardwareThreads());
    configureThreads(0);
}

ENGINE_TEST(configureThreadsRejectsNegative)
{
    CHECK_THROWS_MESSAGE(configureThreads(-2), "Thread count must be 0 (all hardware threads) or more, got -2");
}

ENGINE_TEST(parseDeviceAcceptsEverySpelling)
{
    for (const char *text : {"auto", "AUTO", "Auto"})
        CHECK(parseDevice(text) == (DeviceChoice{DeviceKind::Auto, 0}));
    for (const char *text : {"cpu", "CPU", "Cpu"})
        CHECK(parseDevice(text) == (DeviceChoice{DeviceKind::Cpu, 0}));
    for (const char *text : {"cuda", "CUDA", "cuda:0", "CUDA:0", "cuda:00"})
        CHECK(parseDevice(text) == (DeviceChoice{DeviceKind::Cuda, 0}));
    CHECK(parseDevice("Cuda:1") == (DeviceChoice{DeviceKind::Cuda, 1}));
    CHECK(parseDevice("cuda:12") == (DeviceChoice{DeviceKind::Cuda, 12}));
}

ENGINE_TEST(parseDeviceRejectsOthersWithExactMessage)
{
    CHECK_THROWS_MESSAGE(parseDevice("gpu0"), "Unknown device 'gpu0': expected auto, cpu, cuda or cuda:N");
    for (const char *text : {"", "gpu", "GPU:0", "cuda:", "cuda:-1", "cuda:+1", "cuda:x", "cuda:1 ", " cpu", "cpu:0", "cuda0", "cuda:1:2",
                             "cuda:99999999", "mps"})
        CHECK_THROWS_MESSAGE(parseDevice(text), unknownDeviceMessage(text));
}

ENGINE_TEST(parseDeviceThrowsEngineError)
{
    bool caught = false;
    try {
        parseDevice("tpu");
    } catch (const EngineError &) {
        caught = true;
    }
    CHECK(caught);
}

ENGINE_TEST(formatDeviceRoundTrips)
{
    CHECK_EQ(formatDevice({DeviceKind::Auto, 0}), std::string("auto"));
    CHECK_EQ(formatDevice({DeviceKind::Cpu, 0}), std::string("cpu"));
    CHECK_EQ(formatDevice({DeviceKind::Cuda, 3}), std::string("cuda:3"));
    for (const char *text : {"auto", "cpu", "cuda", "cuda:2"})
        CHECK(parseDevice(formatDevice(parseDevice(text))) == parseDevice(text));
}

ENGINE_TEST(resolveCpuIsCpu)
{
    CHECK(resolveDevice(parseDevice("cpu")) == c10::Device(c10::DeviceType::CPU));
}

ENGINE_TEST(resolveAutoPicksCudaWhenAvailableElseCpu)
{
    const c10::Device device = resolveDevice(parseDevice("auto"));
    if (torch::cuda::is_available())
        CHECK(device == c10::Device(c10::DeviceType::CUDA, 0));
    else
        CHECK(device == c10::Device(c10::DeviceType::CPU));
}

ENGINE_TEST(resolveCudaWithoutDeviceThrowsExactMessage)
{
    if (torch::cuda::is_available())
        SKIP("CUDA is available here");
    const std::string expected = runtimeInfo().cudaBuilt
        ? "CUDA was requested but no CUDA device is usable (LibTorch " TORCH_VERSION
          " built with CUDA: check the NVIDIA driver and CUDA_VISIBLE_DEVICES)"
        : "CUDA was requested but this LibTorch build has no usable CUDA device (LibTorch " TORCH_VERSION ", CPU only)";
    CHECK_THROWS_MESSAGE(resolveDevice(parseDevice("cuda")), expected);
    CHECK_THROWS_MESSAGE(resolveDevice(parseDevice("cuda:1")), expected);
}

ENGINE_TEST(resolveCudaIndexChecksRange)
{
    if (!torch::cuda::is_available())
        SKIP("no CUDA device");
    const int count = static_cast<int>(torch::cuda::device_count());
    CHECK(resolveDevice(parseDevice("cuda")) == c10::Device(c10::DeviceType::CUDA, 0));
    CHECK(resolveDevice({DeviceKind::Cuda, count - 1}) == c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(count - 1)));
    const std::string visible = count == 1
        ? "only 1 CUDA device is visible (cuda:0)"
        : "only " + std::to_string(count) + " CUDA devices are visible (cuda:0 to cuda:" + std::to_string(count - 1) + ")";
    CHECK_THROWS_MESSAGE(resolveDevice({DeviceKind::Cuda, count}),
                         "CUDA device cuda:" + std::to_string(count) + " was requested but " + visible);
}

ENGINE_TEST(runtimeInfoDescribesThisProcess)
{
    configureThreads(0);
    const RuntimeInfo info = runtimeInfo();
    CHECK_EQ(info.torchVersion, std::string(TORCH_VERSION));
    CHECK_EQ(info.intraOpThreads, hardwareThreads());
    CHECK_EQ(info.hardwareThreads, static_cast<int>(std::thread::hardware_concurrency()));
    CHECK(!info.blasHint.empty());
    CHECK(!info.parallelBackend.empty());
    CHECK_EQ(info.cudaAvailable, torch::cuda::is_available());
    CHECK_EQ(info.cudaDeviceCount, info.cudaAvailable ? static_cast<int>(torch::cuda::device_count()) : 0);
    CHECK(!info.cudaAvailable || info.cudaBuilt);
    const std::string line = describe(info);
    CHECK(line.starts_with("LibTorch " + info.torchVersion + " | CPU: "));
    CHECK(line.find(info.blasHint) != std::string::npos);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(line.find(info.cudaAvailable ? "CUDA: " + std::to_string(info.cudaDeviceCount) + " device"
                                       : std::string(info.cudaBuilt ? "CUDA: built in, no usable device" : "CUDA: not in this build"))
          != std::string::npos);
}

ENGINE_TEST(seedEverythingMakesRandnReproducible)
{
    seedEverything(1234);
    const torch::Tensor first = torch::randn({8, 8});
    seedEverything(1234);
    const torch::Tensor again = torch::randn({8, 8});
    seedEverything(4321);
    const torch::Tensor other = torch::randn({8, 8});
    CHECK(torch::equal(first, again));
    CHECK(!torch::equal(first, other));
}

ENGINE_TEST(seedEverythingSeedsCuda)
{
    if (!torch::cuda::is_available())
        SKIP("no CUDA device");
    const auto options = torch::TensorOptions().device(c10::Device(c10::DeviceType::CUDA, 0));
    seedEverything(99);
    const torch::Tensor first = torch::randn({8, 8}, options).cpu();
    seedEverything(99);
    const torch::Tensor again = torch::randn({8, 8}, options).cpu();
    CHECK(torch::equal(first, again));
}

ENGINE_TEST(outOfMemoryHalvesTheChunk)
{
    // A "device" that holds at most 3 items: larger pieces fail as CUDA does.
    std::vector<int> seen(10, 0);
    std::vector<int> halvedTo;
    int chunk = 8;
    runInChunks(
        10, chunk,
        [&](std::int64_t offset, std::int64_t size) {
            if (size > 3)
                throw std::runtime_error("CUDA out of memory. Tried to allocate 2.00 GiB\nmore detail");
            for (std::int64_t i = offset; i < offset + size; ++i)
                ++seen[static_cast<std::size_t>(i)];
        },
        [&](int c) { halvedTo.push_back(c); });
    CHECK_EQ(chunk, 2);
    CHECK_EQ(halvedTo, (std::vector<int>{4, 2}));
    CHECK_EQ(seen, std::vector<int>(10, 1)); // every item once
    CHECK(isOutOfMemory(std::runtime_error("CUDA out of memory. Tried to allocate 20.00 MiB")));
    CHECK(!isOutOfMemory(std::runtime_error("shape mismatch")));

    int one = 1;
    CHECK_THROWS_MESSAGE(runInChunks(2, one, [](std::int64_t, std::int64_t) { throw std::runtime_error("CUDA out of memory. Tried\nx"); }),
                         "Out of memory with 1 item per batch: CUDA out of memory. Tried");
    int any = 4;
    CHECK_THROWS_MESSAGE(runInChunks(2, any, [](std::int64_t, std::int64_t) { throw std::runtime_error("bad shape"); }), "bad shape");
    CHECK_EQ(any, 4);
}
