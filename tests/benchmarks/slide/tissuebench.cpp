// SPDX-License-Identifier: GPL-3.0-or-later
// icmil-tissue-bench: times tissue detection (CLAM's segmentTissue, default preset) and a 20x
// 256-px patch grid on a 100000 x 80000 slide, against raw OpenSlide reading the same
// low-resolution level, so the ratio shows what is algorithm and what is I/O.
// Without --slide it uses the viewer benchmark's cached slide in $TMPDIR/icmil-viewer-bench,
// generating it (once) when missing.
#include "slide/tissue/patchgrid.h"
#include "slide/io/slidesource.h"
#include "slide/synthetic/syntheticslidewriter.h"
#include "slide/tissue/tissuedetector.h"

#include <openslide.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace icmil::slide;

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// CPU time of the whole process (all threads), ms: steadier than wall time on a shared machine.
double cpuMs()
{
    timespec now{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

struct Series {
    std::vector<double> values;
    double median() const
    {
        std::vector<double> sorted = values;
        std::sort(sorted.begin(), sorted.end());
        const std::size_t n = sorted.size();
        return n == 0 ? 0.0 : (n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]));
    }
    double min() const { return values.empty() ? 0.0 : *std::min_element(values.begin(), values.end()); }
};

fs::path ensureSlide(const std::string &requested)
{
    if (!requested.empty())
        return requested;
    const fs::path dir = fs::temp_directory_path() / "icmil-viewer-bench";
    fs::create_directories(dir);
    const fs::path slide = dir / "bench-100000x80000.svs";
    if (!fs::exists(slide)) {
        std::cout << "Generating " << slide << " (100000 x 80000, once; the viewer benchmark shares it) ..." << std::endl;
        SyntheticSlideConfig config;
        config.width = 100000;
        config.height = 80000;
        config.seed = 77;
        config.positive = true;
        config.slideId = "bench";
        SyntheticSlideWriter(config).write(slide, dir / "bench_mask.png", dir / "bench.geojson");
    }
    return slide;
}

// Raw OpenSlide: open, then read the whole level in one call (what CLAM and the detector do), or
// in 4096 x 256 chunks on `threads` threads (what a tile reader would do; chunks off (0, 0) land
// on fractional level coordinates, which OpenSlide resamples). Returns the read's wall time (ms);
// `openMs` gets the open time, `cpu` the read's process CPU time.
double rawRead(const fs::path &path, int level, int threads, double &openMs, double &cpu)
{
    const auto openStart = Clock::now();
    openslide_t *osr = openslide_open(path.c_str());
    openMs = msSince(openStart);
    if (osr == nullptr || openslide_get_error(osr) != nullptr)
        throw std::runtime_error("OpenSlide cannot open " + path.string());
    std::int64_t width = 0, height = 0;
    openslide_get_level_dimensions(osr, level, &width, &height);
    const double downsample = openslide_get_level_downsample(osr, level);
    const auto start = Clock::now();
    const double cpuStart = cpuMs();
    if (threads <= 1) {
        std::vector<std::uint32_t> buffer(static_cast<std::size_t>(width * height));
        openslide_read_region(osr, buffer.data(), 0, 0, level, width, height);
    } else {
        struct Chunk {
            std::int64_t x, y, w, h;
        };
        std::vector<Chunk> chunks;
        for (std::int64_t y = 0; y < height; y += 256)
            for (std::int64_t x = 0; x < width; x += 4096)
                chunks.push_back({x, y, std::min<std::int64_t>(4096, width - x), std::min<std::int64_t>(256, height - y)});
        std::atomic<std::size_t> next{0};
        auto work = [&] {
            std::vector<std::uint32_t> buffer;
            for (std::size_t i = next++; i < chunks.size(); i = next++) {
                const Chunk &c = chunks[i];
                buffer.resize(static_cast<std::size_t>(c.w * c.h));
                openslide_read_region(osr, buffer.data(), static_cast<std::int64_t>(static_cast<double>(c.x) * downsample),
                                      static_cast<std::int64_t>(static_cast<double>(c.y) * downsample), level, c.w, c.h);
            }
        };
        std::vector<std::thread> pool;
        for (int t = 1; t < threads; ++t)
            pool.emplace_back(work);
        work();
        for (std::thread &t : pool)
            t.join();
    }
    const double ms = msSince(start);
    cpu = cpuMs() - cpuStart;
    const bool failed = openslide_get_error(osr) != nullptr;
    openslide_close(osr);
    if (failed)
        throw std::runtime_error("OpenSlide read failed");
    return ms;
}

} // namespace

int main(int argc, char **argv)
{
    std::string slideArg;
    int runs = 5;
    int threads = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool hasValue = i + 1 < argc;
        if (a == "--slide" && hasValue)
            slideArg = argv[++i];
        else if (a == "--runs" && hasValue)
            runs = std::max(1, std::stoi(argv[++i]));
        else if (a == "--threads" && hasValue)
            threads = std::max(0, std::stoi(argv[++i]));
        else {
            std::cerr << "usage: icmil-tissue-bench [--slide FILE] [--runs N] [--threads N]\n";
            return 2;
        }
    }
    try {
        const fs::path path = ensureSlide(slideArg);
        TissueDetectionParams params = TissueDetectionParams::preset("default");
        params.threads = threads;
        const int readerThreads = threads > 0 ? threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
        PatchGridParams gridParams; // 256 px at 20x, no overlap, >= 25% tissue

        Series open, detect, grid, total, totalCpu, rawOpen, rawSingle, rawSingleCpu, rawThreaded;
        TissueMap map;
        PatchGrid patches;
        TissueReadPlan plan;
        for (int run = 0; run < runs; ++run) {
            // Each run opens the slide afresh, so OpenSlide's tile cache starts cold every time
            // (the OS page cache stays warm for both sides alike).
            auto start = Clock::now();
            const std::unique_ptr<SlideSource> slide = SlideSource::open(path);
            open.values.push_back(msSince(start));
            plan = TissueDetector::plan(slide->metadata(), params);
            start = Clock::now();
            const double cpuStart = cpuMs();
            map = TissueDetector(params).detect(*slide);
            detect.values.push_back(msSince(start));
            start = Clock::now();
            patches = PatchGrid::build(*slide, &map, gridParams);
            grid.values.push_back(msSince(start));
            totalCpu.values.push_back(cpuMs() - cpuStart);
            total.values.push_back(detect.values.back() + grid.values.back());

            double openMs = 0.0, cpu = 0.0;
            rawSingle.values.push_back(rawRead(path, plan.level, 1, openMs, cpu));
            rawSingleCpu.values.push_back(cpu);
            rawOpen.values.push_back(openMs);
            rawThreaded.values.push_back(rawRead(path, plan.level, readerThreads, openMs, cpu));
        }

        const std::unique_ptr<SlideSource> slide = SlideSource::open(path);
        const LevelInfo &base = slide->level(0);
        const LevelInfo &level = slide->level(plan.level);
        std::printf("slide            %s (%lld x %lld, %d levels)\n", path.c_str(), static_cast<long long>(base.width),
                    static_cast<long long>(base.height), slide->levelCount());
        std::printf("segmentation     level %d (downsample %.4g, %lld x %lld), reduction %d, mask %d x %d\n", plan.level, level.downsample,
                    static_cast<long long>(level.width), static_cast<long long>(level.height), plan.reduction, plan.maskWidth,
                    plan.maskHeight);
        std::printf("tissue           %.1f%% of the slide, %zu regions, %zu holes kept\n", 100.0 * map.tissueFraction(),
                    map.regions().size(), [&] {
                        std::size_t holes = 0;
                        for (const TissueRegion &region : map.regions())
                            holes += region.holes.size();
                        return holes;
                    }());
        std::printf("patch grid       %zu patches of %d px at %gx (read %d px at level %d; lattice %lld x %lld, step %lld)\n",
                    patches.coords.size(), patches.patchSize, patches.targetMagnification.value_or(0.0), patches.readSize,
                    patches.readLevel, static_cast<long long>(patches.columns), static_cast<long long>(patches.rows),
                    static_cast<long long>(patches.level0Step));
        std::printf("\n%-46s %10s %10s   (%d runs)\n", "ms", "median", "min", runs);
        auto line = [](const char *name, const Series &s) { std::printf("%-46s %10.1f %10.1f\n", name, s.median(), s.min()); };
        line("SlideSource::open", open);
        line("TissueDetector::detect", detect);
        line("PatchGrid::build (20x, 256 px)", grid);
        line("detect + grid", total);
        line("detect + grid, process CPU", totalCpu);
        line("raw openslide_open", rawOpen);
        line("raw OpenSlide read of that level, one call", rawSingle);
        line("raw OpenSlide read, one call, process CPU", rawSingleCpu);
        char chunked[64];
        std::snprintf(chunked, sizeof chunked, "raw OpenSlide read, 4096x256 chunks, %d threads", readerThreads);
        line(chunked, rawThreaded);
        std::printf("\ndetect / raw one-call read = %.2f (wall), detect + grid / raw read = %.2f (CPU)\n",
                    detect.median() / rawSingle.median(), totalCpu.median() / rawSingleCpu.median());
        std::printf("target: detect + grid <= 1000 ms: %s\n", total.median() <= 1000.0 ? "met" : "MISSED");
        return 0;
    } catch (const std::exception &error) {
        std::cerr << "icmil-tissue-bench: " << error.what() << "\n";
        return 1;
    }
}
