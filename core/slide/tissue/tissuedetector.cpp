// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/tissue/tissuedetector.h"

#include "slide/io/levelselection.h"
#include "slide/slideerror.h"
#include "slide/tissue/tissuecontourfilter.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <system_error>
#include <new>
#include <thread>

#include <opencv2/imgproc.hpp>

namespace icmil::slide {

namespace {

constexpr int kChunkColumns = 4096;
constexpr int kChunkRows = 256; // one row of 256-px tiles: no tile is decoded twice
// A level up to this size is read in ONE call at (0, 0). A read that starts elsewhere lands on a
// fractional level coordinate whenever the level's downsample is not an integer (63.99 for a
// 100000 x 80000 slide's 1563 x 1250 level), and OpenSlide then resamples every pixel through
// cairo/pixman: chunked reads of that level cost 2-2.5x the CPU of one read.
constexpr std::int64_t kSingleReadPixels = std::int64_t{16} << 20;

// OpenCV's fixed-point reciprocal table for 8-bit RGB -> HSV (hsv_shift = 12):
// round((255 << 12) / v), which never falls on a tie for v < 256.
constexpr std::array<int, 256> kSaturationTable = [] {
    std::array<int, 256> values{};
    for (int v = 1; v < 256; ++v)
        values[static_cast<std::size_t>(v)] = (2 * (255 << 12) + v) / (2 * v);
    return values;
}();

inline std::uint8_t hsvSaturation(int r, int g, int b)
{
    const int v = std::max({r, g, b});
    const int difference = v - std::min({r, g, b});
    return static_cast<std::uint8_t>((difference * kSaturationTable[static_cast<std::size_t>(v)] + (1 << 11)) >> 12);
}

// The smallest level-0 coordinate whose level pixel (floor(x / downsample)) is `levelCoordinate`.
std::int64_t toLevelZero(std::int64_t levelCoordinate, double downsample)
{
    auto levelOf = [downsample](std::int64_t x) { return static_cast<std::int64_t>(std::floor(static_cast<double>(x) / downsample)); };
    std::int64_t x = std::llround(static_cast<double>(levelCoordinate) * downsample);
    while (levelOf(x) < levelCoordinate)
        ++x;
    while (x > 0 && levelOf(x - 1) >= levelCoordinate)
        --x;
    return x;
}

// Straight RGBA over white (OpenSlide hands out transparent pixels where a slide has no data).
inline void opaqueRgb(const std::uint8_t *p, int &r, int &g, int &b)
{
    const int a = p[3];
    if (a == 255) {
        r = p[0];
        g = p[1];
        b = p[2];
        return;
    }
    const int white = 255 * (255 - a);
    r = (p[0] * a + white + 127) / 255;
    g = (p[1] * a + white + 127) / 255;
    b = (p[2] * a + white + 127) / 255;
}

struct Chunk {
    int x = 0; // level pixels
    int y = 0;
    int width = 0;
    int height = 0;
};

// One chunk's RGB into `out` (mask-sized, 3 bytes per pixel, row stride 3 * maskWidth),
// box-averaging reduction x reduction blocks first when reduction > 1.
void chunkRgb(const RgbaImage &pixels, const Chunk &chunk, int reduction, int maskWidth, std::uint8_t *out)
{
    const auto stride = static_cast<std::size_t>(maskWidth) * 3;
    int r = 0, g = 0, b = 0;
    if (reduction == 1) {
        for (int y = 0; y < chunk.height; ++y) {
            const std::uint8_t *in = pixels.scanLine(y);
            std::uint8_t *row = out + static_cast<std::size_t>(chunk.y + y) * stride + static_cast<std::size_t>(chunk.x) * 3;
            for (int x = 0; x < chunk.width; ++x, in += 4, row += 3) {
                opaqueRgb(in, r, g, b);
                row[0] = static_cast<std::uint8_t>(r);
                row[1] = static_cast<std::uint8_t>(g);
                row[2] = static_cast<std::uint8_t>(b);
            }
        }
        return;
    }
    const int blocksAcross = (chunk.width + reduction - 1) / reduction;
    const int blocksDown = (chunk.height + reduction - 1) / reduction;
    for (int by = 0; by < blocksDown; ++by) {
        std::uint8_t *row
            = out + static_cast<std::size_t>(chunk.y / reduction + by) * stride + static_cast<std::size_t>(chunk.x / reduction) * 3;
        const int yEnd = std::min(chunk.height, (by + 1) * reduction);
        for (int bx = 0; bx < blocksAcross; ++bx, row += 3) {
            const int xEnd = std::min(chunk.width, (bx + 1) * reduction);
            std::int64_t sum[3] = {0, 0, 0};
            for (int y = by * reduction; y < yEnd; ++y) {
                const std::uint8_t *in = pixels.pixel(bx * reduction, y);
                for (int x = bx * reduction; x < xEnd; ++x, in += 4) {
                    opaqueRgb(in, r, g, b);
                    sum[0] += r;
                    sum[1] += g;
                    sum[2] += b;
                }
            }
            const std::int64_t count = static_cast<std::int64_t>(yEnd - by * reduction) * (xEnd - bx * reduction);
            for (int c = 0; c < 3; ++c)
                row[c] = static_cast<std::uint8_t>((sum[c] + count / 2) / count);
        }
    }
}

// Reads the planned level chunk by chunk on `threads` threads into a mask-sized RGB image.
std::vector<std::uint8_t> readRgb(const SlideSource &slide, const TissueReadPlan &plan, int threads)
{
    const LevelInfo &info = slide.level(plan.level);
    const int levelWidth = static_cast<int>(info.width);
    const int levelHeight = static_cast<int>(info.height);
    const int columns = std::max(1, kChunkColumns / plan.reduction) * plan.reduction;
    const int rows = std::max(1, kChunkRows / plan.reduction) * plan.reduction;
    std::vector<Chunk> chunks;
    if (plan.reduction == 1 && info.width * info.height <= kSingleReadPixels) {
        chunks.push_back({0, 0, levelWidth, levelHeight});
    } else {
        for (int y = 0; y < levelHeight; y += rows)
            for (int x = 0; x < levelWidth; x += columns)
                chunks.push_back({x, y, std::min(columns, levelWidth - x), std::min(rows, levelHeight - y)});
    }

    std::vector<std::uint8_t> rgb(static_cast<std::size_t>(plan.maskWidth) * static_cast<std::size_t>(plan.maskHeight) * 3, 255);
    std::atomic<std::size_t> next{0};
    std::atomic_bool failed{false};
    std::exception_ptr error;
    std::mutex errorMutex;
    auto work = [&] {
        for (std::size_t i = next++; i < chunks.size() && !failed; i = next++) {
            try {
                const Chunk &chunk = chunks[i];
                const RgbaImage pixels = slide.readRegion(plan.level, toLevelZero(chunk.x, info.downsample),
                                                          toLevelZero(chunk.y, info.downsample), chunk.width, chunk.height);
                chunkRgb(pixels, chunk, plan.reduction, plan.maskWidth, rgb.data());
            } catch (...) {
                const std::lock_guard lock(errorMutex);
                if (!error)
                    error = std::current_exception();
                failed = true;
            }
        }
    };
    const int workers = std::clamp(threads, 1, static_cast<int>(chunks.size()));
    std::vector<std::thread> pool;
    try {
        for (int t = 1; t < workers; ++t)
            pool.emplace_back(work);
    } catch (const std::system_error &) {
        // No more threads to be had: the ones running (and this one) share the chunks.
    }
    work();
    for (std::thread &thread : pool)
        thread.join();
    if (error)
        std::rethrow_exception(error);
    return rgb;
}

// The glass colour: the most common light colour (every channel >= 180; 8-level bins per channel)
// when at least 5% of the pixels have it, refined to the mean of the pixels in its bin and the
// bins next to it. Its brightest pixels would not do: pale tissue and fat can be brighter than
// tinted glass. White (no correction) when no light colour is that common, or when the glass
// is white already (every channel >= 250).
std::array<int, 3> estimateWhitePoint(const std::vector<std::uint8_t> &rgb)
{
    const std::size_t pixels = rgb.size() / 3;
    std::vector<std::uint32_t> histogram(32 * 32 * 32, 0);
    auto binOf
        = [](const std::uint8_t *p) { return (std::size_t{p[0]} >> 3) << 10 | (std::size_t{p[1]} >> 3) << 5 | (std::size_t{p[2]} >> 3); };
    for (std::size_t i = 0; i < pixels; ++i) {
        const std::uint8_t *p = &rgb[3 * i];
        if (std::min({p[0], p[1], p[2]}) >= 180)
            ++histogram[binOf(p)];
    }
    const auto mode = static_cast<std::size_t>(std::max_element(histogram.begin(), histogram.end()) - histogram.begin());
    std::array<int, 3> white{255, 255, 255};
    if (histogram[mode] < pixels / 20 || histogram[mode] == 0)
        return white;
    const int modeChannel[3] = {static_cast<int>(mode >> 10), static_cast<int>((mode >> 5) & 31), static_cast<int>(mode & 31)};
    std::int64_t sum[3] = {0, 0, 0};
    std::int64_t count = 0;
    for (std::size_t i = 0; i < pixels; ++i) {
        const std::uint8_t *p = &rgb[3 * i];
        bool near = true;
        for (int c = 0; c < 3 && near; ++c)
            near = std::abs((p[c] >> 3) - modeChannel[c]) <= 1;
        if (near) {
            for (int c = 0; c < 3; ++c)
                sum[c] += p[c];
            ++count;
        }
    }
    std::array<int, 3> mean{};
    for (int c = 0; c < 3; ++c)
        mean[static_cast<std::size_t>(c)] = static_cast<int>((sum[c] + count / 2) / count);
    const int lowest = std::min({mean[0], mean[1], mean[2]});
    if (lowest < 180 || lowest >= 250)
        return white;
    return mean;
}

// HSV saturation of every pixel, each channel first scaled so that `white` becomes 255.
std::vector<std::uint8_t> saturationOf(const std::vector<std::uint8_t> &rgb, const std::array<int, 3> &white)
{
    std::array<std::array<std::uint8_t, 256>, 3> scale{};
    for (std::size_t c = 0; c < 3; ++c)
        for (int v = 0; v < 256; ++v)
            scale[c][static_cast<std::size_t>(v)] = static_cast<std::uint8_t>(std::min(255, (v * 255 + white[c] / 2) / white[c]));
    const std::size_t pixels = rgb.size() / 3;
    std::vector<std::uint8_t> saturation(pixels);
    for (std::size_t i = 0; i < pixels; ++i) {
        const std::uint8_t *p = &rgb[3 * i];
        saturation[i] = hsvSaturation(scale[0][p[0]], scale[1][p[1]], scale[2][p[2]]);
    }
    return saturation;
}

// Microns per level-0 pixel: the slide's, else 10 / objective power, else the assumed value.
void physicalScale(const SlideMetadata &metadata, double assumedMpp, TissueDetectionStats &stats)
{
    if (metadata.mppX && metadata.mppY && *metadata.mppX > 0.0 && *metadata.mppY > 0.0 && std::isfinite(*metadata.mppX)
        && std::isfinite(*metadata.mppY)) {
        stats.mppX = *metadata.mppX;
        stats.mppY = *metadata.mppY;
        stats.mppSource = "slide";
    } else if (metadata.objectivePower && *metadata.objectivePower > 0.0 && std::isfinite(*metadata.objectivePower)) {
        stats.mppX = stats.mppY = 10.0 / *metadata.objectivePower;
        stats.mppSource = "objective power";
    } else {
        stats.mppX = stats.mppY = assumedMpp;
        stats.mppSource = "assumed";
    }
}

} // namespace

TissueDetector::TissueDetector(TissueDetectionParams params) : m_params(std::move(params))
{ }

std::uint8_t TissueDetector::saturation(std::uint8_t r, std::uint8_t g, std::uint8_t b)
{
    return hsvSaturation(r, g, b);
}

std::vector<std::uint8_t> TissueDetector::medianAbove(const std::vector<std::uint8_t> &image, int width, int height, int kernel,
                                                      int threshold)
{
    // median > t  <=>  at least (k^2 + 1) / 2 of the k^2 window values are > t: a box count of a
    // binary image (replicated borders, as medianBlur) gives CLAM's median-then-threshold exactly.
    const cv::Mat source(height, width, CV_8UC1, const_cast<std::uint8_t *>(image.data()));
    std::vector<std::uint8_t> result(image.size());
    cv::Mat binary(height, width, CV_8UC1, result.data());
    if (kernel <= 1) {
        cv::compare(source, cv::Scalar(threshold), binary, cv::CMP_GT);
        return result;
    }
    cv::Mat above;
    cv::threshold(source, above, threshold, 1, cv::THRESH_BINARY);
    cv::Mat counts;
    cv::boxFilter(above, counts, CV_16U, cv::Size(kernel, kernel), cv::Point(-1, -1), false, cv::BORDER_REPLICATE);
    cv::compare(counts, cv::Scalar((kernel * kernel + 1) / 2), binary, cv::CMP_GE);
    return result;
}

TissueReadPlan TissueDetector::plan(const SlideMetadata &metadata, const TissueDetectionParams &params)
{
    const int count = static_cast<int>(metadata.levels.size());
    if (count == 0)
        throw SlideError("Cannot plan tissue detection: the slide has no levels");
    auto pixels = [&](int level) {
        const LevelInfo &info = metadata.levels[static_cast<std::size_t>(level)];
        return info.width * info.height;
    };
    TissueReadPlan plan;
    if (params.segLevel >= 0) {
        if (params.segLevel >= count)
            throw SlideError("Cannot detect tissue at level " + std::to_string(params.segLevel) + ": the slide has levels 0 to "
                             + std::to_string(count - 1));
        plan.level = params.segLevel;
    } else {
        std::vector<double> downsamples;
        for (const LevelInfo &info : metadata.levels)
            downsamples.push_back(info.downsample);
        plan.level = levelForDownsample(downsamples, params.targetDownsample);
        while (plan.level + 1 < count && pixels(plan.level) > params.maxMaskPixels)
            ++plan.level;
    }
    const LevelInfo &info = metadata.levels[static_cast<std::size_t>(plan.level)];
    auto reducedPixels = [&](std::int64_t r) { return ((info.width + r - 1) / r) * ((info.height + r - 1) / r); };
    std::int64_t reduction = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(std::sqrt(static_cast<double>(pixels(plan.level)) / static_cast<double>(params.maxMaskPixels))));
    while (reduction > 1 && reducedPixels(reduction - 1) <= params.maxMaskPixels)
        --reduction;
    while (reducedPixels(reduction) > params.maxMaskPixels)
        ++reduction;
    plan.reduction = static_cast<int>(reduction);
    plan.maskWidth = static_cast<int>((info.width + reduction - 1) / reduction);
    plan.maskHeight = static_cast<int>((info.height + reduction - 1) / reduction);
    return plan;
}

TissueMap TissueDetector::detect(const SlideSource &slide) const
{
    m_params.validate();
    const TissueReadPlan readPlan = plan(slide.metadata(), m_params);
    const std::int64_t slideWidth = slide.level(0).width;
    const std::int64_t slideHeight = slide.level(0).height;
    const int threads = m_params.threads > 0 ? m_params.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    try {
        TissueDetectionStats stats;
        std::vector<std::uint8_t> saturation;
        {
            const std::vector<std::uint8_t> rgb = readRgb(slide, readPlan, threads);
            if (m_params.whiteBalance)
                stats.whitePoint = estimateWhitePoint(rgb);
            saturation = saturationOf(rgb, stats.whitePoint);
        }
        const cv::Mat image(readPlan.maskHeight, readPlan.maskWidth, CV_8UC1, saturation.data());
        // Otsu's threshold of the blurred saturation: applied with useOtsu; else computed only to
        // advise when nothing is found.
        auto otsu = [&] {
            cv::Mat blurred = image;
            if (m_params.medianKernel > 1)
                cv::medianBlur(image, blurred, m_params.medianKernel);
            cv::Mat above;
            stats.otsuThreshold = static_cast<int>(cv::threshold(blurred, above, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU));
            stats.otsuFraction = static_cast<double>(cv::countNonZero(above)) / static_cast<double>(above.total());
        };

        int threshold = m_params.saturationThreshold;
        if (m_params.useOtsu) {
            otsu();
            threshold = std::max(threshold, stats.otsuThreshold);
        }
        stats.threshold = threshold;
        std::vector<std::uint8_t> binary
            = medianAbove(saturation, readPlan.maskWidth, readPlan.maskHeight, m_params.medianKernel, threshold);
        cv::Mat binaryImage(readPlan.maskHeight, readPlan.maskWidth, CV_8UC1, binary.data());
        if (m_params.closeKernel > 0) {
            const cv::Mat kernel = cv::Mat::ones(m_params.closeKernel, m_params.closeKernel, CV_8UC1);
            cv::morphologyEx(binaryImage, binaryImage, cv::MORPH_CLOSE, kernel);
        }
        stats.candidateFraction = static_cast<double>(cv::countNonZero(binaryImage)) / static_cast<double>(binaryImage.total());

        // Areas: mm^2 -> level-0 pixels, never above the cap by the slide's own area.
        physicalScale(slide.metadata(), m_params.assumedMpp, stats);
        const double pixelMm2 = stats.mppX * stats.mppY * 1e-6;
        const double slideMm2 = static_cast<double>(slideWidth) * static_cast<double>(slideHeight) * pixelMm2;
        stats.minTissueAreaMm2 = std::min(m_params.minTissueAreaMm2, m_params.maxAreaFraction * slideMm2);
        stats.minHoleAreaMm2 = std::min(m_params.minHoleAreaMm2, m_params.maxAreaFraction * slideMm2);
        TissueContourFilter::Limits limits;
        limits.minTissueArea = stats.minTissueAreaMm2 / pixelMm2;
        limits.minHoleArea = stats.minHoleAreaMm2 / pixelMm2;
        limits.maxHoles = m_params.maxHoles;

        const double downsampleX = static_cast<double>(slideWidth) / readPlan.maskWidth;
        const double downsampleY = static_cast<double>(slideHeight) / readPlan.maskHeight;
        TissueContourFilter::Result filtered
            = TissueContourFilter::apply(binary, readPlan.maskWidth, readPlan.maskHeight, downsampleX, downsampleY, limits);
        TissueMap map(slideWidth, slideHeight, readPlan.maskWidth, readPlan.maskHeight, std::move(filtered.mask),
                      std::move(filtered.regions), readPlan.level);
        if (map.isEmpty() && !m_params.useOtsu)
            otsu();
        map.setStats(std::move(stats));
        return map;
    } catch (const SlideError &) {
        throw;
    } catch (const std::bad_alloc &) {
        throw SlideError("Cannot detect tissue in '" + slide.path().string() + "': out of memory");
    } catch (const std::exception &error) {
        throw SlideError("Cannot detect tissue in '" + slide.path().string() + "': " + error.what());
    }
}

} // namespace icmil::slide
