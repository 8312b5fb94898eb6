// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/io/openslidesource.h"

#include "slide/slideerror.h"

#include <openslide.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace icmil::slide {

namespace fs = std::filesystem;

namespace {

std::optional<double> numberProperty(openslide_t *osr, const char *name)
{
    const char *value = openslide_get_property_value(osr, name);
    if (value == nullptr)
        return std::nullopt;
    // OpenSlide writes these with a C-locale decimal point; from_chars ignores the user's locale.
    double parsed = 0.0;
    const char *end = value + std::strlen(value);
    const auto [ptr, ec] = std::from_chars(value, end, parsed);
    if (ec != std::errc() || ptr == value || !(parsed > 0.0))
        return std::nullopt;
    return parsed;
}

// OpenSlide hands out premultiplied ARGB in native-endian uint32; we hand out straight RGBA bytes.
void unpremultiplyInto(const std::uint32_t *argb, std::size_t count, std::uint8_t *rgba)
{
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t p = argb[i];
        const std::uint32_t a = p >> 24;
        std::uint32_t r = (p >> 16) & 0xffu;
        std::uint32_t g = (p >> 8) & 0xffu;
        std::uint32_t b = p & 0xffu;
        if (a != 255u && a != 0u) {
            r = (r * 255u + a / 2u) / a;
            g = (g * 255u + a / 2u) / a;
            b = (b * 255u + a / 2u) / a;
        }
        rgba[4 * i + 0] = static_cast<std::uint8_t>(r > 255u ? 255u : r);
        rgba[4 * i + 1] = static_cast<std::uint8_t>(g > 255u ? 255u : g);
        rgba[4 * i + 2] = static_cast<std::uint8_t>(b > 255u ? 255u : b);
        rgba[4 * i + 3] = static_cast<std::uint8_t>(a);
    }
}

} // namespace

void OpenSlideSource::HandleCloser::operator()(_openslide *handle) const
{
    if (handle != nullptr)
        openslide_close(handle);
}

std::string OpenSlideSource::detectVendor(const fs::path &path)
{
    const char *vendor = openslide_detect_vendor(path.c_str());
    return vendor != nullptr ? std::string(vendor) : std::string();
}

std::unique_ptr<OpenSlideSource> OpenSlideSource::openFile(const fs::path &path)
{
    const std::string prefix = "Cannot open slide '" + path.string() + "': ";
    Handle handle(openslide_open(path.c_str()));
    if (!handle)
        throw SlideError(prefix + "OpenSlide does not support this file");
    if (const char *error = openslide_get_error(handle.get()))
        throw SlideError(prefix + "damaged or unsupported slide (" + error + ")");

    openslide_t *osr = handle.get();
    SlideMetadata metadata;
    if (const char *vendor = openslide_get_property_value(osr, OPENSLIDE_PROPERTY_NAME_VENDOR))
        metadata.vendor = vendor;

    const std::int32_t levels = openslide_get_level_count(osr);
    for (std::int32_t level = 0; level < levels; ++level) {
        LevelInfo info;
        openslide_get_level_dimensions(osr, level, &info.width, &info.height);
        info.downsample = openslide_get_level_downsample(osr, level);
        metadata.levels.push_back(info);
    }
    if (const char *error = openslide_get_error(osr))
        throw SlideError(prefix + "damaged or unsupported slide (" + error + ")");
    if (metadata.levels.empty() || metadata.levels.front().width <= 0 || metadata.levels.front().height <= 0)
        throw SlideError(prefix + "the slide has no readable levels");

    for (const char *const *name = openslide_get_property_names(osr); name != nullptr && *name != nullptr; ++name) {
        const char *value = openslide_get_property_value(osr, *name);
        metadata.properties.emplace(*name, value != nullptr ? value : "");
    }
    metadata.mppX = numberProperty(osr, OPENSLIDE_PROPERTY_NAME_MPP_X);
    metadata.mppY = numberProperty(osr, OPENSLIDE_PROPERTY_NAME_MPP_Y);
    metadata.objectivePower = numberProperty(osr, OPENSLIDE_PROPERTY_NAME_OBJECTIVE_POWER);
    for (const char *const *name = openslide_get_associated_image_names(osr); name != nullptr && *name != nullptr; ++name) {
        metadata.associatedImages.emplace_back(*name);
    }
    std::sort(metadata.associatedImages.begin(), metadata.associatedImages.end()); // OpenSlide's order is a hash's

    return std::unique_ptr<OpenSlideSource>(new OpenSlideSource(path, std::move(metadata), std::move(handle)));
}

OpenSlideSource::OpenSlideSource(fs::path path, SlideMetadata metadata, Handle handle)
    : SlideSource(std::move(path), std::move(metadata)), m_handle(std::move(handle))
{ }

OpenSlideSource::~OpenSlideSource() = default;

RgbaImage OpenSlideSource::doReadRegion(int level, std::int64_t x, std::int64_t y, int w, int h) const
{
    const std::size_t count = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
    std::vector<std::uint32_t> argb(count);
    doReadRegionArgb(level, x, y, w, h, argb.data());
    RgbaImage image(w, h);
    unpremultiplyInto(argb.data(), count, image.pixels.data());
    return image;
}

void OpenSlideSource::doReadRegionArgb(int level, std::int64_t x, std::int64_t y, int w, int h, std::uint32_t *dest) const
{
    openslide_t *osr = m_handle.get();
    // A handle that failed once stays failed: report the original cause, do not read.
    if (const char *error = openslide_get_error(osr))
        throw SlideError(regionContext(level, x, y, w, h) + ": " + error);
    openslide_read_region(osr, dest, x, y, level, w, h);
    if (const char *error = openslide_get_error(osr))
        throw SlideError(regionContext(level, x, y, w, h) + ": " + error);
}

RgbaImage OpenSlideSource::doReadAssociatedImage(const std::string &name) const
{
    openslide_t *osr = m_handle.get();
    const std::string context = "Cannot read associated image '" + name + "' of '" + path().string() + "'";
    if (const char *error = openslide_get_error(osr))
        throw SlideError(context + ": " + error);

    std::int64_t w = 0;
    std::int64_t h = 0;
    openslide_get_associated_image_dimensions(osr, name.c_str(), &w, &h);
    if (w <= 0 || h <= 0 || w * h > kMaxRegionPixels)
        throw SlideError(context + ": it has no valid dimensions");

    const std::size_t count = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
    std::vector<std::uint32_t> argb(count);
    openslide_read_associated_image(osr, name.c_str(), argb.data());
    if (const char *error = openslide_get_error(osr))
        throw SlideError(context + ": " + error);

    RgbaImage image(static_cast<int>(w), static_cast<int>(h));
    unpremultiplyInto(argb.data(), count, image.pixels.data());
    return image;
}

} // namespace icmil::slide
