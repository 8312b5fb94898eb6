// SPDX-License-Identifier: GPL-3.0-or-later
// icmil-engine-bench: how fast this machine's LibTorch multiplies matrices, so a user can tell
// whether a fast BLAS and all CPU threads are in use (and what a CUDA device adds).
//
//   icmil-engine-bench [--sizes 1024,2048] [--reps 5] [--json FILE]
//
// Prints the runtime description, a table of float32 matmul GFLOP/s with 1 intra-op thread and
// with all of them, the speed-up, the same on CUDA (fp32 and fp16 under AutocastScope) when a
// device is there, and one JSON line with the same figures (also written to FILE with --json).

#include "engine/runtime/autocastscope.h"
#include "engine/runtime/runtime.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace icmil::engine;

namespace {

constexpr double kSlowBlasGflops = 10.0;   // reference BLAS: ~3.6; OpenBLAS on one core: ~50+
constexpr double kTimeBudgetSeconds = 3.0; // per measurement: stop repeating after this, past 2 reps

struct BenchOptions {
    std::vector<int> sizes{1024, 2048};
    int reps = 5;
    std::string jsonPath;
};

struct MatmulFigure {
    std::string device;    // "cpu", "cuda:0"
    std::string precision; // "fp32", "fp16-autocast"
    int size = 0;
    int threads = 0; // intra-op threads; 0 on CUDA
    double bestMs = 0.0;
    double gflops = 0.0;
};

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Best wall time of `work` over up to `reps` runs after one warm-up run.
double bestSeconds(const std::function<void()> &work, int reps)
{
    work();
    double best = 1e300;
    const auto started = std::chrono::steady_clock::now();
    for (int rep = 0; rep < reps; ++rep) {
        const auto start = std::chrono::steady_clock::now();
        work();
        best = std::min(best, secondsSince(start));
        if (rep >= 1 && secondsSince(started) > kTimeBudgetSeconds)
            break;
    }
    return best;
}

MatmulFigure figure(std::string device, std::string precision, int size, int threads, double seconds)
{
    const double flops = 2.0 * size * static_cast<double>(size) * size;
    return {std::move(device), std::move(precision), size, threads, seconds * 1e3, flops / seconds / 1e9};
}

MatmulFigure measureCpu(int size, int threads, int reps)
{
    configureThreads(threads);
    const at::Tensor a = at::randn({size, size});
    const at::Tensor b = at::randn({size, size});
    at::Tensor c = at::empty({size, size});
    const double seconds = bestSeconds([&] { at::matmul_out(c, a, b); }, reps);
    return figure("cpu", "fp32", size, at::get_num_threads(), seconds);
}

MatmulFigure measureCuda(int size, bool halfPrecision, int reps)
{
    const c10::Device device(c10::DeviceType::CUDA, 0);
    const at::Tensor a = at::randn({size, size}, at::TensorOptions().device(device));
    const at::Tensor b = at::randn({size, size}, at::TensorOptions().device(device));
    constexpr int kLaunchesPerRep = 10; // amortise launch and synchronisation overhead
    const double seconds = bestSeconds(
        [&] {
            AutocastScope autocast(device, halfPrecision);
            for (int launch = 0; launch < kLaunchesPerRep; ++launch)
                (void)at::matmul(a, b);
            torch::cuda::synchronize();
        },
        reps);
    return figure("cuda:0", halfPrecision ? "fp16-autocast" : "fp32", size, 0, seconds / kLaunchesPerRep);
}

std::string jsonString(const std::string &text)
{
    std::string quoted = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            quoted += '\\';
            quoted += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            quoted += escaped;
        } else {
            quoted += c;
        }
    }
    return quoted + "\"";
}

// Write to FILE.partial, then rename over FILE: a reader never sees half a file.
bool writeFileAtomically(const std::string &path, const std::string &content)
{
    const std::string partial = path + ".partial";
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        out << content;
        out.flush();
        if (!out)
            return false;
    }
    std::error_code error;
    std::filesystem::rename(partial, path, error);
    return !error;
}

bool parseOptions(int argc, char **argv, BenchOptions &options)
{
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool hasValue = i + 1 < argc;
        if (arg == "--json" && hasValue) {
            options.jsonPath = argv[++i];
        } else if (arg == "--reps" && hasValue) {
            options.reps = std::max(1, std::atoi(argv[++i]));
        } else if (arg == "--sizes" && hasValue) {
            options.sizes.clear();
            std::istringstream list(argv[++i]);
            std::string item;
            while (std::getline(list, item, ','))
                if (const int size = std::atoi(item.c_str()); size > 0)
                    options.sizes.push_back(size);
            if (options.sizes.empty())
                return false;
        } else {
            return false;
        }
    }
    return true;
}

void printRow(const MatmulFigure &row)
{
    char line[160];
    std::snprintf(line, sizeof line, "%-8s %-14s %6d %8s %11.2f %10.1f", row.device.c_str(), row.precision.c_str(), row.size,
                  row.threads > 0 ? std::to_string(row.threads).c_str() : "-", row.bestMs, row.gflops);
    std::cout << line << '\n';
}

} // namespace

int main(int argc, char **argv)
{
    BenchOptions options;
    if (!parseOptions(argc, argv, options)) {
        std::cerr << "usage: icmil-engine-bench [--sizes 1024,2048] [--reps N] [--json FILE]\n";
        return 2;
    }
    const int allThreads = configureThreads(0);
    const RuntimeInfo info = runtimeInfo();
    std::cout << "ICMIL engine benchmark\n" << describe(info) << "\n\n";
    std::cout << "float32 matmul C = A x B (square), best of " << options.reps << " after a warm-up\n";
    std::cout << "device   precision        size  threads     best ms    GFLOP/s\n";

    std::vector<MatmulFigure> rows;
    std::vector<std::pair<int, double>> speedups;
    double singleThreadGflops = 0.0;
    for (const int size : options.sizes) {
        const MatmulFigure one = measureCpu(size, 1, options.reps);
        const MatmulFigure all = measureCpu(size, allThreads, options.reps);
        printRow(one);
        printRow(all);
        rows.push_back(one);
        rows.push_back(all);
        speedups.emplace_back(size, all.gflops / one.gflops);
        singleThreadGflops = std::max(singleThreadGflops, one.gflops);
    }
    configureThreads(allThreads);
    std::cout << "speed-up, " << allThreads << " threads over 1:";
    for (const auto &[size, ratio] : speedups)
        std::cout << "  " << size << ": " << std::to_string(ratio).substr(0, 4) << "x";
    std::cout << '\n';

    // The best 1-thread figure over all sizes, so one small, overhead-bound size cannot trip it.
    const bool slowBlas = singleThreadGflops < kSlowBlasGflops;
    if (slowBlas)
        std::cout << "WARNING: 1-thread float32 matmul peaks at " << std::to_string(singleThreadGflops).substr(0, 5) << " GFLOP/s, below "
                  << kSlowBlasGflops << ": LibTorch is on a slow (reference) BLAS. "
                  << "On Debian/Ubuntu install libopenblas0-pthread (apt install libopenblas0-pthread).\n";

    if (info.cudaAvailable) {
        for (const int size : options.sizes) {
            for (const bool half : {false, true}) {
                rows.push_back(measureCuda(size, half, std::max(options.reps, 10)));
                printRow(rows.back());
            }
        }
    } else {
        std::cout << "CUDA: no usable device, GPU rows skipped\n";
    }

    std::ostringstream json;
    json << "{\"benchmark\":\"icmil-engine-bench\",\"torch\":" << jsonString(info.torchVersion)
         << ",\"runtime\":" << jsonString(describe(info)) << ",\"hardware_threads\":" << info.hardwareThreads
         << ",\"blas\":" << jsonString(info.blasHint) << ",\"cuda_available\":" << (info.cudaAvailable ? "true" : "false")
         << ",\"results\":[";
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const MatmulFigure &row = rows[i];
        json << (i > 0 ? "," : "") << "{\"device\":" << jsonString(row.device) << ",\"precision\":" << jsonString(row.precision)
             << ",\"size\":" << row.size << ",\"threads\":" << row.threads << ",\"best_ms\":" << row.bestMs << ",\"gflops\":" << row.gflops
             << "}";
    }
    json << "],\"speedup\":[";
    for (std::size_t i = 0; i < speedups.size(); ++i)
        json << (i > 0 ? "," : "") << "{\"size\":" << speedups[i].first << ",\"threads\":" << allThreads
             << ",\"ratio\":" << speedups[i].second << "}";
    json << "],\"slow_blas_warning\":" << (slowBlas ? "true" : "false") << "}";
    std::cout << json.str() << '\n';

    if (!options.jsonPath.empty() && !writeFileAtomically(options.jsonPath, json.str() + "\n")) {
        std::cerr << "could not write " << options.jsonPath << '\n';
        return 1;
    }
    return 0;
}
