// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/io/slidesource.h"

#include "slide/io/levelselection.h"
#include "slide/io/openslidesource.h"
#include "slide/io/plainimagesource.h"
#include "slide/slideerror.h"
#include "slide/io/slideformat.h"
#include "slide/io/tiffstructure.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>

namespace icmil::slide {

namespace fs = std::filesystem;

namespace {

std::string cannotOpen(const fs::path &path, const std::string &cause)
{
    return "Cannot open slide '" + path.string() + "': " + cause;
}

// Checks that are the same for every backend, before any library sees the file.
void checkReadableFile(const fs::path &path)
{
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status))
        throw SlideError(cannotOpen(path, "file does not exist"));
    if (fs::is_directory(status))
        throw SlideError(cannotOpen(path, "it is a directory, not a file"));
    const auto size = fs::file_size(path, ec);
    if (ec)
        throw SlideError(cannotOpen(path, ec.message()));
    if (size == 0)
        throw SlideError(cannotOpen(path, "file is empty"));
    std::ifstream probe(path, std::ios::binary);
    if (!probe)
        throw SlideError(cannotOpen(path, "permission denied or unreadable"));
}

} // namespace

SlideSource::SlideSource(fs::path path, SlideMetadata metadata) : m_path(std::move(path)), m_metadata(std::move(metadata))
{ }

std::unique_ptr<SlideSource> SlideSource::open(const fs::path &path)
{
    checkReadableFile(path);

    // A TIFF cut short or damaged in its structure is refused by that name before any library reads
    // it: before OpenSlide's format detection (which allocates what a hostile directory declares),
    // and before a backend misreads it (a truncated .svs is no OpenSlide format any more, and would
    // open as a plain image of its first level) or fails tile by tile. NDPI is left to OpenSlide.
    if (const std::string damaged = tiffStructureProblem(path); !damaged.empty())
        throw SlideError(cannotOpen(path, damaged));
    const bool openSlide = !OpenSlideSource::detectVendor(path).empty();
    // Formats a backend would misread or fail on with misleading words are refused first, by name.
    if (const std::string refused = refusedFormat(path, openSlide); !refused.empty())
        throw SlideError(cannotOpen(path, refused));
    // Backends are tried in order; each says whether the file is its format before opening.
    if (openSlide)
        return OpenSlideSource::openFile(path);
    if (PlainImageSource::recognises(path))
        return PlainImageSource::openFile(path);

    throw SlideError(cannotOpen(path, "not a whole-slide image or an image format this build can read"));
}

const LevelInfo &SlideSource::level(int index) const
{
    if (index < 0 || index >= levelCount()) {
        throw SlideError("Level " + std::to_string(index) + " does not exist in '" + m_path.string() + "' (it has "
                         + std::to_string(levelCount()) + " levels)");
    }
    return m_metadata.levels[static_cast<std::size_t>(index)];
}

int SlideSource::bestLevelForDownsample(double downsample) const
{
    std::vector<double> downsamples;
    downsamples.reserve(m_metadata.levels.size());
    for (const LevelInfo &info : m_metadata.levels)
        downsamples.push_back(info.downsample);
    return levelForDownsample(downsamples, downsample);
}

std::string SlideSource::regionContext(int level, std::int64_t x, std::int64_t y, int w, int h) const
{
    std::ostringstream out;
    out << "Cannot read region (x=" << x << ", y=" << y << ", w=" << w << ", h=" << h << ") at level " << level << " of '"
        << m_path.string() << "'";
    return out.str();
}

void SlideSource::checkRegion(int level, std::int64_t x, std::int64_t y, int w, int h) const
{
    if (level < 0 || level >= levelCount()) {
        throw SlideError(regionContext(level, x, y, w, h) + ": the slide has levels 0 to " + std::to_string(levelCount() - 1));
    }
    if (w <= 0 || h <= 0)
        throw SlideError(regionContext(level, x, y, w, h) + ": width and height must be positive");
    if (static_cast<std::int64_t>(w) * h > kMaxRegionPixels) {
        throw SlideError(regionContext(level, x, y, w, h) + ": region is larger than " + std::to_string(kMaxRegionPixels) + " pixels");
    }
    const LevelInfo &info = m_metadata.levels[static_cast<std::size_t>(level)];
    const auto levelX = static_cast<std::int64_t>(std::floor(static_cast<double>(x) / info.downsample));
    const auto levelY = static_cast<std::int64_t>(std::floor(static_cast<double>(y) / info.downsample));
    if (x < 0 || y < 0 || levelX + w > info.width || levelY + h > info.height) {
        throw SlideError(regionContext(level, x, y, w, h) + ": outside the level's " + std::to_string(info.width) + "x"
                         + std::to_string(info.height) + " pixels");
    }
}

RgbaImage SlideSource::readRegion(int level, std::int64_t x, std::int64_t y, int w, int h) const
{
    checkRegion(level, x, y, w, h);
    return doReadRegion(level, x, y, w, h);
}

void SlideSource::readRegionArgb(int level, std::int64_t x, std::int64_t y, int w, int h, std::uint32_t *dest) const
{
    checkRegion(level, x, y, w, h);
    doReadRegionArgb(level, x, y, w, h, dest);
}

void SlideSource::doReadRegionArgb(int level, std::int64_t x, std::int64_t y, int w, int h, std::uint32_t *dest) const
{
    const RgbaImage rgba = doReadRegion(level, x, y, w, h);
    const std::size_t count = static_cast<std::size_t>(w) * static_cast<std::size_t>(h);
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint8_t *p = rgba.pixels.data() + 4 * i;
        const std::uint32_t a = p[3];
        auto premultiply = [a](std::uint32_t c) { return a == 255u ? c : (c * a + 127u) / 255u; };
        dest[i] = (a << 24) | (premultiply(p[0]) << 16) | (premultiply(p[1]) << 8) | premultiply(p[2]);
    }
}

RgbaImage SlideSource::readAssociatedImage(const std::string &name) const
{
    const auto &names = m_metadata.associatedImages;
    if (std::find(names.begin(), names.end(), name) == names.end()) {
        std::string known;
        for (const std::string &n : names)
            known += (known.empty() ? "" : ", ") + n;
        throw SlideError("Cannot read associated image '" + name + "' of '" + m_path.string() + "': the slide has "
                         + (known.empty() ? std::string("none") : known));
    }
    return doReadAssociatedImage(name);
}

} // namespace icmil::slide
