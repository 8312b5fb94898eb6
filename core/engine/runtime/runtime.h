// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The engine's run-time set-up: threads, device choice, a description of the LibTorch in use,
// and seeding. Light on purpose: only c10 headers, so every layer can include it cheaply.

#include <c10/core/Device.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <string>

namespace icmil::engine {

// Sets LibTorch's intra-op thread count (and OpenBLAS's own pool, which LibTorch does not reach)
// to `requested`, or to every hardware thread when 0. Debian's LibTorch starts with 1 thread, so
// apps call this at start-up. Returns the count now in effect. Throws EngineError when negative.
int configureThreads(int requested = 0);

// OpenMP keeps its thread count per thread, and LibTorch copies the process's count into a
// thread only once: a long-lived worker thread calls this before each job, so that the job runs
// with the count that configureThreads() set last, from whichever thread. Returns the count now
// in effect on the calling thread (unchanged when configureThreads() was never called).
int adoptConfiguredThreads();

enum class DeviceKind { Auto, Cpu, Cuda };

// What the user asked for; resolveDevice() turns it into a torch::Device on this machine.
struct DeviceChoice {
    DeviceKind kind = DeviceKind::Auto;
    int index = 0; // the CUDA device; "cuda" means "cuda:0"

    bool operator==(const DeviceChoice &) const = default;
};

// Accepts "auto", "cpu", "cuda" and "cuda:N" in any letter case. Throws EngineError
// "Unknown device 'gpu0': expected auto, cpu, cuda or cuda:N" for anything else.
DeviceChoice parseDevice(const std::string &text);

// The canonical spelling: "auto", "cpu" or "cuda:N"; parseDevice(formatDevice(c)) == c.
std::string formatDevice(const DeviceChoice &choice);

// auto -> cuda:0 when CUDA is usable, else CPU; cpu -> CPU; cuda:N -> CUDA device N, or an
// EngineError saying why not (no CUDA in this LibTorch, no visible device, index out of range).
// The result is a torch::Device (c10::Device is the same type).
c10::Device resolveDevice(const DeviceChoice &choice);

// What this process runs on, for --version lines, about dialogs and bug reports.
struct RuntimeInfo {
    std::string torchVersion;    // of the LibTorch headers compiled against, e.g. "1.13.0"
    int intraOpThreads = 0;      // at::get_num_threads()
    int interOpThreads = 0;      // at::get_num_interop_threads()
    int hardwareThreads = 0;     // std::thread::hardware_concurrency()
    std::string parallelBackend; // "OpenMP", "native", ... from at::get_parallel_info()
    std::string blasHint;        // what provides matrix products (see blasprobe.h)
    int blasThreads = -1;        // the BLAS's own thread count, -1 when unknown
    bool cudaBuilt = false;      // the LibTorch library was built with CUDA (or ROCm)
    bool cudaAvailable = false;  // ... and a device is usable now
    int cudaDeviceCount = 0;
    bool cudnnAvailable = false;
};

RuntimeInfo runtimeInfo();

// One line, e.g. "LibTorch 1.13.0 | CPU: 2 of 2 threads (OpenMP) | BLAS: OpenBLAS 0.3.21 ...
// (2 threads) | CUDA: not in this build".
std::string describe(const RuntimeInfo &info);
// Its CUDA part: "1 device, cuDNN", "built in, no usable device" or "not in this build".
std::string describeCuda(const RuntimeInfo &info);

// OpenMP's waiting threads spin by default (libgomp's ACTIVE policy) and, on a machine with few
// cores, take the CPU from OpenBLAS's own threads: on 2 cores ABMIL trains 2.1x faster with
// OMP_WAIT_POLICY=PASSIVE (icmil-mil-bench). libgomp reads the variable once, when it is loaded,
// so a program gets it by re-executing itself with the variable set: call this first thing in
// main(), before any thread starts. It returns (doing nothing) when OMP_WAIT_POLICY is already set,
// by the user or by the first run, and where /proc/self/exe is missing or exec fails.
void preferPassiveOpenMpWait(char **argv);

// Seeds LibTorch's CPU generator and, when CUDA is available, every CUDA device's generator.
// Does not switch on deterministic algorithms.
void seedEverything(std::uint64_t seed);

// Whether an exception is a device running out of memory (CUDA's "CUDA out of memory. Tried to
// allocate ..."), which a caller can answer by halving its batch and trying again.
bool isOutOfMemory(const std::exception &error);

// Runs work(offset, size) over [0, count) in pieces of at most `chunk` items. When a piece runs
// out of memory (isOutOfMemory), `chunk` is halved, halved(chunk) is told, and the piece is tried
// again, so the caller's work must leave nothing changed when it throws. The smaller chunk stays
// for later calls. Throws EngineError "Out of memory with 1 item per batch: ..." at the end of
// the road; other errors pass through.
void runInChunks(std::int64_t count, int &chunk, const std::function<void(std::int64_t offset, std::int64_t size)> &work,
                 const std::function<void(int chunk)> &halved = {});

} // namespace icmil::engine
