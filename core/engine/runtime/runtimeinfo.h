// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The parts of the engine's run-time set-up that need no LibTorch: device names, the description
// of a runtime (runtime.h measures it), OpenMP's wait policy. The layers above use them before
// LibTorch is loaded (docs/ARCHITECTURE.md, "LibTorch on demand").

#include <string>

namespace icmil::engine {

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

// One line, e.g. "LibTorch 1.13.0 | CPU: 2 of 2 threads (OpenMP) | BLAS: OpenBLAS 0.3.21 ...
// (2 threads) | CUDA: not in this build".
std::string describe(const RuntimeInfo &info);
// Its CUDA part: "1 device, cuDNN", "built in, no usable device" or "not in this build".
std::string describeCuda(const RuntimeInfo &info);

// OpenMP's waiting threads spin by default (libgomp's ACTIVE policy) and, on a machine with few
// cores, take the CPU from OpenBLAS's own threads: on 2 cores ABMIL trains 2.1x faster with
// OMP_WAIT_POLICY=PASSIVE (icmil-mil-bench). libgomp reads the variable once, when it is loaded,
// so call this first thing in main(), before any thread starts: it sets the variable and, when
// libgomp is loaded already (a program linked with LibTorch), re-executes the program so that
// libgomp reads it; a program that loads LibTorch later (icmil-studio) needs no second start.
// It does nothing when OMP_WAIT_POLICY is already set, by the user or by the first run, and goes
// on as it is where /proc/self/exe is missing or exec fails.
void preferPassiveOpenMpWait(char **argv);

} // namespace icmil::engine
