// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/syntheticslidewriter.h"

#include "slide/synthetic/groundtruthmask.h"
#include "common/partialfile.h"
#include "slide/synthetic/pyramidwriter.h"
#include "slide/slideerror.h"
#include "slide/synthetic/tissuephantom.h"
#include "slide/synthetic/tumourgeojson.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <new>
#include <numbers>
#include <stdexcept>
#include <thread>

#include <opencv2/imgcodecs.hpp>

namespace icmil::slide {

namespace {

constexpr std::int64_t kMinimumSide = 256;
constexpr std::int64_t kMaximumSide = 1000000;

std::string number(double value)
{
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

void validate(const SyntheticSlideConfig &config)
{
    auto invalid = [](const std::string &what) { throw SlideError("Invalid synthetic slide configuration: " + what); };
    const std::string size = std::to_string(config.width) + "x" + std::to_string(config.height);
    if (config.width < kMinimumSide || config.height < kMinimumSide)
        invalid("width and height must be at least 256 pixels (got " + size + ")");
    if (config.width > kMaximumSide || config.height > kMaximumSide)
        invalid("width and height must be at most 1000000 pixels (got " + size + ")");
    if (config.tileSize < 16 || config.tileSize > 4096 || config.tileSize % 16 != 0)
        invalid("tile size must be a multiple of 16 between 16 and 4096 (got " + std::to_string(config.tileSize) + ")");
    const std::int64_t tilesAcross = (config.width + config.tileSize - 1) / std::max(config.tileSize, 1);
    if (tilesAcross * config.tileSize * config.tileSize * 6 > (std::int64_t{1} << 30)) // two bands of tiles
        invalid("tile size " + std::to_string(config.tileSize) + " is too large for a slide " + std::to_string(config.width)
                + " pixels wide (over 1 GiB of tile rows)");
    if (config.jpegQuality < 1 || config.jpegQuality > 100)
        invalid("JPEG quality must be between 1 and 100 (got " + std::to_string(config.jpegQuality) + ")");
    if (config.levelFactor < 2 || config.levelFactor > 64)
        invalid("level factor must be between 2 and 64 (got " + std::to_string(config.levelFactor) + ")");
    if (!(config.mpp > 0.0) || !std::isfinite(config.mpp))
        invalid("microns per pixel must be a positive number (got " + number(config.mpp) + ")");
    if (config.objectivePower < 1)
        invalid("objective power must be at least 1 (got " + std::to_string(config.objectivePower) + ")");
    if (config.maskDownsample < 1)
        invalid("mask downsample must be at least 1 (got " + std::to_string(config.maskDownsample) + ")");
    if (config.threads < 0)
        invalid("thread count must not be negative (got " + std::to_string(config.threads) + ")");
    if (config.slideId.find_first_of("|\r\n") != std::string::npos)
        invalid("slide id must not contain '|' or line breaks");
}

std::vector<TumourRegion> tumourRegions(const TissuePhantom &phantom)
{
    std::vector<TumourRegion> regions;
    for (const PolarBlob &tumour : phantom.tumours()) {
        // About one vertex every 8 pixels of outline, 64 to 1024 of them.
        const int points = std::clamp(static_cast<int>(std::ceil(2.0 * std::numbers::pi * tumour.maxRadius() / 8.0)), 64, 1024);
        TumourRegion region;
        region.polygon = tumour.outline(points);
        region.areaPixels = PolarBlob::polygonArea(region.polygon);
        regions.push_back(std::move(region));
    }
    return regions;
}

} // namespace

SyntheticSlideWriter::SyntheticSlideWriter(SyntheticSlideConfig config) : m_config(std::move(config))
{ }

SyntheticSlideResult SyntheticSlideWriter::write(const std::filesystem::path &slidePath, const std::filesystem::path &maskPath,
                                                 const std::filesystem::path &geojsonPath, const ProgressCallback &progress)
{
    validate(m_config);
    const auto start = std::chrono::steady_clock::now();
    // Which output is being worked on, for the error message.
    std::string what = "synthetic slide";
    std::filesystem::path current = slidePath;
    try {
        if (slidePath.empty() || maskPath.empty() || geojsonPath.empty())
            throw std::runtime_error("an output path is empty");
        PartialFile slideFile(slidePath);
        PartialFile maskFile(maskPath);
        PartialFile geojsonFile(geojsonPath);
        slideFile.touch(); // fail early on an unwritable location, naming the output concerned
        what = "synthetic slide mask";
        current = maskPath;
        maskFile.touch();
        what = "synthetic slide annotations";
        current = geojsonPath;
        geojsonFile.touch();
        what = "synthetic slide";
        current = slidePath;
        const int threads = m_config.threads > 0 ? m_config.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

        const TissuePhantom phantom(m_config);
        const GroundTruthMask truth(phantom, m_config.maskDownsample, threads);
        SyntheticSlideResult result;
        result.tumours = tumourRegions(phantom);
        result.tissueFraction = truth.tissueFraction();
        result.tumourFraction = truth.tumourFraction();
        result.mimicFraction = truth.mimicFraction();
        result.mimicRegions = static_cast<int>(phantom.aggregates().size());
        result.germinalCentres = static_cast<int>(phantom.germinalCentres().size());
        result.microMetastasesOnly = phantom.microMetastasesOnly();
        result.centre = phantom.site().centre();
        result.blurred = phantom.site().blurred();
        result.penStrokes = phantom.site().penStrokes();
        result.folds = phantom.site().folds();

        PyramidWriter pyramid(m_config, phantom, m_cancelled, progress);
        pyramid.write(slideFile.partialPath());
        result.levelCount = pyramid.levelCount();

        what = "synthetic slide mask";
        current = maskPath;
        std::vector<std::uint8_t> png;
        if (!cv::imencode(".png", truth.tumourMask(), png))
            throw std::runtime_error("PNG encoding failed");
        maskFile.write(std::string_view(reinterpret_cast<const char *>(png.data()), png.size()));

        what = "synthetic slide annotations";
        current = geojsonPath;
        geojsonFile.write(TumourGeoJson::format(result.tumours));

        if (m_cancelled)
            throw std::runtime_error("cancelled");
        // The slide last: whoever sees the slide also finds its ground truth.
        current = maskPath;
        maskFile.commit();
        current = geojsonPath;
        geojsonFile.commit();
        what = "synthetic slide";
        current = slidePath;
        slideFile.commit();

        result.slidePath = slidePath;
        result.maskPath = maskPath;
        result.geojsonPath = geojsonPath;
        result.fileBytes = std::filesystem::file_size(slidePath);
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (progress)
            progress(1.0);
        return result;
    } catch (const std::bad_alloc &) {
        throw SlideError("Cannot write " + what + " '" + current.string() + "': out of memory");
    } catch (const std::exception &error) {
        throw SlideError("Cannot write " + what + " '" + current.string() + "': " + error.what());
    }
}

} // namespace icmil::slide
