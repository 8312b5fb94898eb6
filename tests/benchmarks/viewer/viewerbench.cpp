// SPDX-License-Identifier: GPL-3.0-or-later
// icmil-viewer-bench: the viewer's speed and memory figures, each against a baseline measured in
// the same run. Run with QT_QPA_PLATFORM=offscreen (set by default) on a quiet machine:
//   icmil-viewer-bench [--slide FILE | --size WxH] [--json FILE] [--tour-seconds 10] [--threads N]
// Without --slide it generates (once per size) a synthetic slide in $TMPDIR, 100000 x 80000 unless
// --size says otherwise.
#include "slide/io/slidesource.h"
#include "slide/synthetic/syntheticslidewriter.h"
#include "ui/viewer/slideviewer.h"
#include "ui/viewer/tileplanner.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QTimer>

#include <openslide.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <time.h>

namespace fs = std::filesystem;
using icmil::ui::SlideViewer;
using icmil::ui::TileKey;

namespace {

// CPU time the calling thread has used, in ms.
double threadCpuMs()
{
    timespec now{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
    return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
}

struct Options {
    fs::path slide;
    fs::path json;
    double tourSeconds = 10.0;
    int threads = 0;
    int width = 100000; // of the generated slide
    int height = 80000;
};

double percentile(std::vector<double> values, double p)
{
    if (values.empty())
        return 0.0;
    std::sort(values.begin(), values.end());
    const auto index = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size()))) - 1;
    return values[std::min(index, values.size() - 1)];
}

long peakRssKiB()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stol(line.substr(6));
    }
    return -1;
}

// Waits (running the event loop) until the viewer reports a complete frame; returns ms. Waits on
// the frameCompleted signal rather than polling isFrameComplete(): polling took most of the GUI
// thread's time during the cold fill and slowed the very thing measured.
double waitForCompleteFrame(SlideViewer &viewer, const QElapsedTimer &since, int timeoutMs = 120000)
{
    if (!viewer.isFrameComplete()) {
        QEventLoop loop;
        QObject::connect(&viewer, &SlideViewer::frameCompleted, &loop, &QEventLoop::quit);
        QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
        loop.exec();
    }
    return static_cast<double>(since.nsecsElapsed()) / 1e6;
}

// Lets the viewer's loader finish (or drop) what it still has queued, e.g. prefetch, so the next
// measurement does not share the CPU with left-over work.
void waitForIdleLoader(QApplication &app, SlideViewer &viewer, bool dropQueued)
{
    if (dropQueued)
        viewer.loader()->cancelAll();
    QElapsedTimer timer;
    timer.start();
    while (!viewer.loader()->isIdle() && timer.elapsed() < 60000)
        app.processEvents(QEventLoop::WaitForMoreEvents, 5);
    app.processEvents();
}

// The baseline: raw OpenSlide (fresh handle, cold cache) reading the same tiles with the same
// number of threads, each tile read exactly once.
double rawOpenSlideMs(const fs::path &path, const icmil::ui::TileGrid &grid, const std::vector<TileKey> &tiles, int threads)
{
    openslide_t *osr = openslide_open(path.c_str());
    if (osr == nullptr || openslide_get_error(osr) != nullptr) {
        std::cerr << "baseline: OpenSlide cannot open " << path << '\n';
        std::exit(1);
    }
    std::atomic<std::size_t> next{0};
    QElapsedTimer timer;
    timer.start();
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            std::vector<std::uint32_t> buffer;
            for (std::size_t i = next++; i < tiles.size(); i = next++) {
                const QRect r = grid.levelRect(tiles[i]);
                buffer.resize(static_cast<std::size_t>(r.width()) * static_cast<std::size_t>(r.height()));
                openslide_read_region(osr, buffer.data(), grid.readX(tiles[i]), grid.readY(tiles[i]), tiles[i].level, r.width(),
                                      r.height());
            }
        });
    }
    for (std::thread &t : pool)
        t.join();
    const double ms = static_cast<double>(timer.nsecsElapsed()) / 1e6;
    openslide_close(osr);
    return ms;
}

// Figure 2 at several places: one fill time, raw OpenSlide time and GUI-thread CPU per place.
struct FillFigures {
    std::vector<double> fillMs, rawMs, ratios, guiCpuMs;
    std::size_t tiles = 0;       // visible 20x tiles, all places
    std::uint64_t tilesRead = 0; // what the viewer read until each frame was complete

    void add(double fill, double raw, double guiCpu)
    {
        fillMs.push_back(fill);
        rawMs.push_back(raw);
        ratios.push_back(fill / raw);
        guiCpuMs.push_back(guiCpu);
    }
    std::string ratioList(const char *separator) const
    {
        std::ostringstream out;
        out.setf(std::ios::fixed);
        out.precision(2);
        for (std::size_t i = 0; i < ratios.size(); ++i)
            out << (i ? separator : "") << ratios[i];
        return out.str();
    }
    // One table row: median fill, median raw, median ratio, each ratio.
    std::string row(const char *label) const
    {
        std::ostringstream out;
        out.setf(std::ios::fixed);
        out << label << ", median of " << ratios.size() << " places (" << tiles << " tiles)  " << std::setprecision(1)
            << percentile(fillMs, 50) << " ms     raw OpenSlide " << percentile(rawMs, 50) << " ms -> ratio " << std::setprecision(2)
            << percentile(ratios, 50) << " [" << ratioList(" ") << "] (target <= 1.2; viewer read " << tilesRead
            << " tiles; GUI thread busy " << std::setprecision(1) << percentile(guiCpuMs, 50) << " ms)\n";
        return out.str();
    }
    std::string json(const char *prefix) const
    {
        std::ostringstream out;
        out << ",\"" << prefix << "_ms\":" << percentile(fillMs, 50) << ",\"" << prefix << "_raw_openslide_ms\":" << percentile(rawMs, 50)
            << ",\"" << prefix << "_ratio\":" << percentile(ratios, 50) << ",\"" << prefix << "_ratios\":[" << ratioList(",") << "],\""
            << prefix << "_tiles\":" << tiles << ",\"" << prefix << "_tiles_read\":" << tilesRead << ",\"" << prefix
            << "_gui_cpu_ms\":" << percentile(guiCpuMs, 50);
        return out.str();
    }
};

fs::path ensureSlide(const Options &options)
{
    if (!options.slide.empty())
        return options.slide;
    const fs::path dir = fs::temp_directory_path() / "icmil-viewer-bench";
    fs::create_directories(dir);
    const std::string size = std::to_string(options.width) + "x" + std::to_string(options.height);
    const fs::path slide = dir / ("bench-" + size + ".svs");
    if (!fs::exists(slide)) {
        std::cout << "Generating " << slide << " (" << size << ", once) ..." << std::endl;
        icmil::slide::SyntheticSlideConfig config;
        config.width = options.width;
        config.height = options.height;
        config.seed = 77;
        config.positive = true;
        config.slideId = "bench";
        icmil::slide::SyntheticSlideWriter(config).write(slide, dir / ("bench-" + size + "_mask.png"),
                                                         dir / ("bench-" + size + ".geojson"));
    }
    return slide;
}

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);

    Options options;
    const QStringList args = QApplication::arguments();
    for (int i = 1; i < args.size(); ++i) {
        const QString a = args[i];
        const bool hasValue = i + 1 < args.size();
        if (a == QStringLiteral("--slide") && hasValue)
            options.slide = args[++i].toStdString();
        else if (a == QStringLiteral("--json") && hasValue)
            options.json = args[++i].toStdString();
        else if (a == QStringLiteral("--tour-seconds") && hasValue)
            options.tourSeconds = args[++i].toDouble();
        else if (a == QStringLiteral("--threads") && hasValue)
            options.threads = args[++i].toInt();
        else if (a == QStringLiteral("--size") && hasValue) {
            const QStringList parts = args[++i].split(QLatin1Char('x'));
            options.width = parts.size() == 2 ? parts[0].toInt() : 0;
            options.height = parts.size() == 2 ? parts[1].toInt() : 0;
            if (options.width < 4096 || options.height < 4096) {
                std::cerr << "icmil-viewer-bench: --size must be WIDTHxHEIGHT, each at least 4096\n";
                return 2;
            }
        } else {
            std::cerr << "usage: icmil-viewer-bench [--slide FILE | --size WxH] [--json FILE] [--tour-seconds S] [--threads N]\n";
            return 2;
        }
    }

    const fs::path slidePath = ensureSlide(options);
    // Page-cache the file once so neither the viewer nor the baseline pays for the disk.
    {
        std::ifstream in(slidePath, std::ios::binary);
        std::vector<char> chunk(1 << 20);
        while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) { }
    }

    // Generating the slide above raised this process's peak RSS; reset the high-water mark so
    // figure 5 is the viewer's own (Linux: writing 5 to clear_refs resets VmHWM).
    {
        std::ofstream clear("/proc/self/clear_refs");
        clear << "5";
    }
    const long rssBeforeKiB = peakRssKiB();
    SlideViewer viewer;
    viewer.resize(1920, 1080);
    viewer.setAnimated(false); // the tour applies each step at once; the timings are the viewer's, not the easing's
    if (options.threads > 0)
        viewer.setLoaderThreads(options.threads);
    viewer.show();
    const int threads = viewer.loaderThreads();
    const std::int64_t budget = viewer.cache().budget();

    // 1. First complete frame at fit-to-window (includes opening the slide).
    QElapsedTimer timer;
    timer.start();
    std::shared_ptr<const icmil::slide::SlideSource> source = icmil::slide::SlideSource::open(slidePath);
    viewer.setSlide(source);
    viewer.fitToWindow();
    const double firstFrameMs = waitForCompleteFrame(viewer, timer);
    waitForIdleLoader(app, viewer, false);

    // 2. Cold full-screen fill at 20x in tissue vs raw OpenSlide on the same tiles, at seven
    //    places (a fill is ~100 ms, so one sample is noise); the figure is the median of the
    //    ratios. Both sides use a fresh OpenSlide handle per place, so no 20x tile is in either
    //    side's cache. 2a, the user's case: the slide was just opened and shown fitted (its
    //    overview levels are cached), then the view jumps to 20x. 2b: the viewer's cache is empty
    //    too, so it also reads the pinned coarsest level and its coarse pass first.
    const QPointF tissueCentre(source->level(0).width * 0.5, source->level(0).height * 0.5);
    const std::vector<QPointF> fillOffsets = {{0, 0}, {-4000, 0}, {4000, 0}, {0, -2500}, {0, 2500}, {-4000, -2500}, {4000, 2500}};
    // Each fill is timed from the moment the view is set (before setSlide for 2b, before
    // setMagnification for 2a), so every read the fill causes, the coarse pass included, falls
    // inside the timer: timing from refresh() let reads that setMagnification/centerOn had
    // already queued run before the clock started.
    const auto measureFills = [&](bool afterOpen) {
        FillFigures figures;
        for (const QPointF &offset : fillOffsets) {
            // A fresh handle, opened outside the timer as the baseline opens its own: no 20x tile
            // is in OpenSlide's cache.
            std::shared_ptr<const icmil::slide::SlideSource> fresh = icmil::slide::SlideSource::open(slidePath);
            QElapsedTimer fill;
            if (afterOpen) {
                fill.start();
                viewer.setSlide(fresh);
                viewer.fitToWindow();
                waitForCompleteFrame(viewer, fill);
                waitForIdleLoader(app, viewer, false);
            } else {
                viewer.cache().clear();
            }
            // setSlide starts a new loader (its count at 0): 2b counts all it reads, coarse pass included.
            const std::uint64_t readBefore = afterOpen ? viewer.loader()->read() : 0;
            const double guiCpuBeforeMs = threadCpuMs();
            fill.start();
            if (!afterOpen)
                viewer.setSlide(fresh);
            viewer.setMagnification(20.0);
            viewer.centerOn(tissueCentre + offset);
            viewer.refresh();
            const double fillMs = waitForCompleteFrame(viewer, fill);
            const double guiCpuMs = threadCpuMs() - guiCpuBeforeMs; // what the GUI thread took from the readers
            const std::vector<TileKey> fillTiles = icmil::ui::TilePlanner::visibleTargetTiles(viewer.grid(), viewer.transform());
            figures.tilesRead += viewer.loader()->read() - readBefore;
            figures.tiles += fillTiles.size();
            waitForIdleLoader(app, viewer, true); // prefetch must not share the CPU with the baseline
            figures.add(fillMs, rawOpenSlideMs(slidePath, viewer.grid(), fillTiles, threads), guiCpuMs);
        }
        return figures;
    };
    const FillFigures fillAfterOpen = measureFills(true);
    const FillFigures fillEmpty = measureFills(false);

    // 3. Paint time of a fully cached 1920x1080 frame.
    std::vector<double> paintMs;
    for (int i = 0; i < 300; ++i) {
        QElapsedTimer paint;
        paint.start();
        viewer.repaint();
        paintMs.push_back(static_cast<double>(paint.nsecsElapsed()) / 1e6);
    }

    // 4. GUI-thread stalls during a scripted tour of pans and zooms: a 60 Hz timer drives the
    //    view; the gap between consecutive ticks beyond the 16.7 ms period is a stall.
    std::vector<double> tickGapsMs;
    {
        viewer.fitToWindow();
        QElapsedTimer tour;
        tour.start();
        QElapsedTimer tick;
        tick.start();
        int step = 0;
        QTimer driver;
        driver.setTimerType(Qt::PreciseTimer);
        driver.setInterval(16);
        QObject::connect(&driver, &QTimer::timeout, [&] {
            tickGapsMs.push_back(static_cast<double>(tick.nsecsElapsed()) / 1e6);
            tick.restart();
            ++step;
            const int phase = (step / 60) % 6; // a new gesture every second
            const QPointF mid(960, 540);
            switch (phase) {
            case 0: viewer.zoomAt(mid, 0.97); break;       // zoom in
            case 1: viewer.panBy(QPointF(-25, -8)); break; // pan right/down
            case 2: viewer.zoomAt(QPointF(500, 300), 0.96); break;
            case 3: viewer.panBy(QPointF(18, -30)); break;
            case 4: viewer.zoomAt(mid, 1.05); break; // zoom out
            default: viewer.panBy(QPointF(30, 22)); break;
            }
            if (tour.elapsed() > options.tourSeconds * 1000)
                app.quit();
        });
        driver.start();
        QApplication::exec();
    }
    std::vector<double> stallsMs;
    for (double gap : tickGapsMs)
        stallsMs.push_back(std::max(0.0, gap - 16.0));

    const long peakKiB = peakRssKiB();
    const double peakMiB = static_cast<double>(peakKiB) / 1024.0;
    const double budgetMiB = static_cast<double>(budget) / (1024.0 * 1024.0);

    std::ostringstream table;
    table.setf(std::ios::fixed);
    table.precision(1);
    table << "ICMIL Studio viewer benchmark: " << slidePath.filename().string() << " (" << source->level(0).width << " x "
          << source->level(0).height << ", " << source->levelCount() << " levels), 1920x1080, " << threads << " loader threads\n";
    table << "metric                                   value          baseline / target\n";
    table << "1 first complete frame, fit to window    " << firstFrameMs << " ms\n";
    table << fillAfterOpen.row("2a cold fill at 20x after open") << fillEmpty.row("2b cold fill at 20x, empty cache")
          << std::setprecision(2);
    table << "3 cached frame paint, median / p99       " << percentile(paintMs, 50) << " / " << percentile(paintMs, 99)
          << " ms   (target median <= 4 ms)\n";
    table << "4 GUI stall in " << options.tourSeconds << " s tour, p99 / max  " << percentile(stallsMs, 99) << " / "
          << percentile(stallsMs, 100) << " ms   (" << tickGapsMs.size() << " ticks; target p99 <= 16 ms)\n";
    table << "5 peak RSS                               " << std::setprecision(0) << peakMiB << " MiB     cache budget " << budgetMiB
          << " MiB + 200 -> " << (peakMiB <= budgetMiB + 200 ? "within" : "OVER") << " (RSS before open "
          << static_cast<double>(rssBeforeKiB) / 1024.0 << " MiB)\n";
    std::cout << table.str();

    std::ostringstream json;
    json << "{\"slide\":\"" << slidePath.filename().string() << "\",\"threads\":" << threads << ",\"first_frame_ms\":" << firstFrameMs
         << fillAfterOpen.json("fill20x") << fillEmpty.json("fill20x_empty_cache") << ",\"paint_median_ms\":" << percentile(paintMs, 50)
         << ",\"paint_p99_ms\":" << percentile(paintMs, 99) << ",\"stall_p99_ms\":" << percentile(stallsMs, 99)
         << ",\"stall_max_ms\":" << percentile(stallsMs, 100) << ",\"peak_rss_mib\":" << peakMiB << ",\"cache_budget_mib\":" << budgetMiB
         << "}";
    std::cout << json.str() << '\n';
    if (!options.json.empty()) {
        std::ofstream out(options.json);
        out << json.str() << '\n';
    }
    return 0;
}
