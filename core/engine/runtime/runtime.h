// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The engine's run-time set-up that needs LibTorch: threads, device resolution, the runtime's
// figures, seeding. Device names and the runtime's description need no LibTorch and live in
// runtimeinfo.h, which the layers above include instead.

#include "engine/runtime/runtimeinfo.h"

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

// What this process runs on (runtimeinfo.h describes it).
RuntimeInfo runtimeInfo();

// auto -> cuda:0 when CUDA is usable, else CPU; cpu -> CPU; cuda:N -> CUDA device N, or an
// EngineError saying why not (no CUDA in this LibTorch, no visible device, index out of range).
// The result is a torch::Device (c10::Device is the same type).
c10::Device resolveDevice(const DeviceChoice &choice);

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
