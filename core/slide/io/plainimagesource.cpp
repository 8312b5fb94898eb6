// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/io/plainimagesource.h"
#include "common/asciicase.h"

#include "slide/slideerror.h"
#include "slide/io/slideformat.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cstring>

namespace icmil::slide {

namespace fs = std::filesystem;

bool PlainImageSource::recognises(const fs::path &path)
{
    try {
        return cv::haveImageReader(path.string());
    } catch (const cv::Exception &) {
        return false;
    }
}

std::unique_ptr<PlainImageSource> PlainImageSource::openFile(const fs::path &path)
{
    const std::string prefix = "Cannot open slide '" + path.string() + "': ";
    cv::Mat decoded;
    try {
        decoded = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception &e) {
        throw SlideError(prefix + "damaged or unsupported image (" + e.err + ")");
    }
    if (decoded.empty())
        throw SlideError(prefix + "damaged or truncated file (neither OpenSlide nor the image decoders can read it)");

    int bitDepth = 8;
    if (decoded.depth() == CV_16U) {
        decoded.convertTo(decoded, CV_8U, 1.0 / 257.0);
        bitDepth = 16;
    } else if (decoded.depth() != CV_8U) {
        throw SlideError(prefix + "unsupported pixel type (only 8- and 16-bit images are read)");
    }

    cv::Mat rgba;
    switch (decoded.channels()) {
    case 1: cv::cvtColor(decoded, rgba, cv::COLOR_GRAY2RGBA); break;
    case 3: cv::cvtColor(decoded, rgba, cv::COLOR_BGR2RGBA); break;
    case 4: cv::cvtColor(decoded, rgba, cv::COLOR_BGRA2RGBA); break;
    default: throw SlideError(prefix + "unsupported number of channels (" + std::to_string(decoded.channels()) + ")");
    }

    RgbaImage pixels(rgba.cols, rgba.rows);
    for (int y = 0; y < rgba.rows; ++y)
        std::memcpy(pixels.scanLine(y), rgba.ptr<std::uint8_t>(y), static_cast<std::size_t>(rgba.cols) * 4u);

    SlideMetadata metadata;
    metadata.vendor = "image";
    metadata.levels.push_back(LevelInfo{rgba.cols, rgba.rows, 1.0});
    const std::string extension = asciiLower(path.extension().string());
    metadata.properties["image.format"] = extension.empty() ? std::string("unknown") : extension.substr(1);
    metadata.properties["image.channels"] = std::to_string(decoded.channels());
    metadata.properties["image.bits-per-sample"] = std::to_string(bitDepth);
    metadata.properties["image.width"] = std::to_string(rgba.cols);
    metadata.properties["image.height"] = std::to_string(rgba.rows);
    // A plain TIFF may record its resolution (a microscope camera's, or a crop of a slide).
    if (const TiffFacts tiff = inspectTiff(path); tiff.mpp) {
        metadata.mppX = metadata.mppY = tiff.mpp;
        metadata.properties["image.mpp"] = std::to_string(*tiff.mpp);
    }

    return std::unique_ptr<PlainImageSource>(new PlainImageSource(path, std::move(metadata), std::move(pixels)));
}

PlainImageSource::PlainImageSource(fs::path path, SlideMetadata metadata, RgbaImage pixels)
    : SlideSource(std::move(path), std::move(metadata)), m_pixels(std::move(pixels))
{ }

RgbaImage PlainImageSource::doReadRegion(int /*level*/, std::int64_t x, std::int64_t y, int w, int h) const
{
    // One level only, and SlideSource has already checked the region lies inside it.
    RgbaImage region(w, h);
    for (int row = 0; row < h; ++row) {
        const std::uint8_t *src = m_pixels.pixel(static_cast<int>(x), static_cast<int>(y) + row);
        std::memcpy(region.scanLine(row), src, static_cast<std::size_t>(w) * 4u);
    }
    return region;
}

RgbaImage PlainImageSource::doReadAssociatedImage(const std::string &name) const
{
    // SlideSource refuses unknown names, and plain images have none.
    throw SlideError("Cannot read associated image '" + name + "' of '" + path().string() + "': the image has none");
}

} // namespace icmil::slide
