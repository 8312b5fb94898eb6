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

// Saturation of one chunk into `out` (mask-sized, row stride maskWidth), box-averaging
// reduction x reduction blocks of RGB first when reduction > 1.
void chunkSaturation(const RgbaImage &pixels, const Chunk &chunk, int reduction, int maskWidth, std::uint8_t *out)
{
    int r = 0, g = 0, b = 0;
    if (reduction == 1) {
        for (int y = 0; y < chunk.height; ++y) {
            const std::uint8_t *in = pixels.scanLine(y);
            std::uint8_t *row
                = out + static_cast<std::size_t>(chunk.y + y) * static_cast<std::size_t>(maskWidth) + static_cast<std::size_t>(chunk.x);
            for (int x = 0; x < chunk.width; ++x, in += 4) {
                opaqueRgb(in, r, g, b);
                row[x] = hsvSaturation(r, g, b);
            }
        }
        return;
    }
    const int blocksAcross = (chunk.width + reduction - 1) / reduction;
    const int blocksDown = (chunk.height + reduction - 1) / reduction;
    for (int by = 0; by < blocksDown; ++by) {
        std::uint8_t *row = out + static_cast<std::size_t>(chunk.y / reduction + by) * static_cast<std::size_t>(maskWidth)
            + static_cast<std::size_t>(chunk.x / reduction);
        const int yEnd = std::min(chunk.height, (by + 1) * reduction);
        for (int bx = 0; bx < blocksAcross; ++bx) {
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
            auto mean = [count](std::int64_t total) { return static_cast<int>((total + count / 2) / count); };
            row[bx] = hsvSaturation(mean(sum[0]), mean(sum[1]), mean(sum[2]));
        }
    }
}

// Reads the planned level chunk by chunk on `threads` threads into a mask-sized saturation image.
std::vector<std::uint8_t> readSaturation(const SlideSource &slide, const TissueReadPlan &plan, int threads)
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

    std::vector<std::uint8_t> saturation(static_cast<std::size_t>(plan.maskWidth) * static_cast<std::size_t>(plan.maskHeight), 0);
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
                chunkSaturation(pixels, chunk, plan.reduction, plan.maskWidth, saturation.data());
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
    return saturation;
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
        std::vector<std::uint8_t> saturation = readSaturation(slide, readPlan, threads);

        int threshold = m_params.saturationThreshold;
        if (m_params.useOtsu) { // Otsu needs the blurred image's histogram; the fixed threshold does not
            const cv::Mat image(readPlan.maskHeight, readPlan.maskWidth, CV_8UC1, saturation.data());
            cv::Mat blurred = image;
            if (m_params.medianKernel > 1)
                cv::medianBlur(image, blurred, m_params.medianKernel);
            cv::Mat ignored;
            const double otsu = cv::threshold(blurred, ignored, 0, 255, cv::THRESH_BINARY | cv::THRESH_OTSU);
            threshold = std::max(threshold, static_cast<int>(otsu));
        }
        std::vector<std::uint8_t> binary
            = medianAbove(saturation, readPlan.maskWidth, readPlan.maskHeight, m_params.medianKernel, threshold);
        cv::Mat binaryImage(readPlan.maskHeight, readPlan.maskWidth, CV_8UC1, binary.data());
        if (m_params.closeKernel > 0) {
            const cv::Mat kernel = cv::Mat::ones(m_params.closeKernel, m_params.closeKernel, CV_8UC1);
            cv::morphologyEx(binaryImage, binaryImage, cv::MORPH_CLOSE, kernel);
        }

        const double downsampleX = static_cast<double>(slideWidth) / readPlan.maskWidth;
        const double downsampleY = static_cast<double>(slideHeight) / readPlan.maskHeight;
        TissueContourFilter::Result filtered
            = TissueContourFilter::apply(binary, readPlan.maskWidth, readPlan.maskHeight, downsampleX, downsampleY, m_params);
        return TissueMap(slideWidth, slideHeight, readPlan.maskWidth, readPlan.maskHeight, std::move(filtered.mask),
                         std::move(filtered.regions), readPlan.level);
    } catch (const SlideError &) {
        throw;
    } catch (const std::bad_alloc &) {
        throw SlideError("Cannot detect tissue in '" + slide.path().string() + "': out of memory");
    } catch (const std::exception &error) {
        throw SlideError("Cannot detect tissue in '" + slide.path().string() + "': " + error.what());
    }
}

} // namespace icmil::slide
