// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/io/rgbaimage.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace icmil::slide {

struct LevelInfo {
    std::int64_t width = 0;
    std::int64_t height = 0;
    double downsample = 1.0; // relative to level 0
};

// Everything known about a slide once it is open. Backends fill it once; it never changes.
struct SlideMetadata {
    std::string vendor;            // "aperio", "generic-tiff", ..., or "image" for plain images
    std::vector<LevelInfo> levels; // level 0 first, downsample ascending
    std::optional<double> mppX;    // microns per level-0 pixel, when known
    std::optional<double> mppY;
    std::optional<double> objectivePower;
    std::map<std::string, std::string> properties; // every backend property, verbatim
    std::vector<std::string> associatedImages;     // "label", "macro", "thumbnail", ...
};

// A whole-slide image or plain image, open for reading. Backends (OpenSlide, plain image)
// implement the two protected reads; argument checks and error wording live here, so every
// backend fails the same way. All const methods are safe to call from several threads at once.
class SlideSource {
public:
    virtual ~SlideSource() = default;
    SlideSource(const SlideSource &) = delete;
    SlideSource &operator=(const SlideSource &) = delete;

    // Opens `path` with the first backend that recognises it. Throws SlideError with one clear
    // message (missing file, directory, empty file, not a slide, damaged slide).
    static std::unique_ptr<SlideSource> open(const std::filesystem::path &path);

    const std::filesystem::path &path() const { return m_path; }
    const SlideMetadata &metadata() const { return m_metadata; }
    virtual std::string backendName() const = 0; // "openslide" or "image"

    int levelCount() const { return static_cast<int>(m_metadata.levels.size()); }
    const LevelInfo &level(int index) const; // throws SlideError on a bad index
    // The finest level whose downsample is <= `downsample` (never upscale a coarser level).
    int bestLevelForDownsample(double downsample) const;

    // Reads a w x h region of `level`. (x, y) is the top-left corner in LEVEL-0 coordinates
    // (OpenSlide's convention); w and h are in pixels of `level`. The region must lie inside the
    // level. Returns RGBA, never a partially filled image: any failure throws SlideError.
    RgbaImage readRegion(int level, std::int64_t x, std::int64_t y, int w, int h) const;

    // The same region written into `dest` (w * h pixels, row stride w) as premultiplied ARGB32 in
    // native byte order: OpenSlide's own format, and QImage::Format_ARGB32_Premultiplied. The fast
    // path for tile viewers and patch readers: the caller owns the buffer, and for OpenSlide there
    // is no copy or conversion. Same checks and errors as readRegion(); on error `dest` is
    // unspecified.
    void readRegionArgb(int level, std::int64_t x, std::int64_t y, int w, int h, std::uint32_t *dest) const;

    // Reads an associated image by name; throws SlideError for an unknown name or a read error.
    RgbaImage readAssociatedImage(const std::string &name) const;

    // Largest region one readRegion call may ask for (pixels); larger requests are refused with
    // an error rather than attempting a multi-gigabyte allocation.
    static constexpr std::int64_t kMaxRegionPixels = std::int64_t{1} << 28;

protected:
    SlideSource(std::filesystem::path path, SlideMetadata metadata);

    virtual RgbaImage doReadRegion(int level, std::int64_t x, std::int64_t y, int w, int h) const = 0;
    virtual RgbaImage doReadAssociatedImage(const std::string &name) const = 0;
    // Default: doReadRegion() premultiplied into `dest`. Backends with a native ARGB path override it.
    virtual void doReadRegionArgb(int level, std::int64_t x, std::int64_t y, int w, int h, std::uint32_t *dest) const;

    // "Cannot read region (x=.., y=.., w=.., h=..) at level L of 'file'"; backends append ": cause".
    std::string regionContext(int level, std::int64_t x, std::int64_t y, int w, int h) const;

private:
    // Throws the SlideError readRegion() documents for a bad level, size or position.
    void checkRegion(int level, std::int64_t x, std::int64_t y, int w, int h) const;

    std::filesystem::path m_path;
    SlideMetadata m_metadata;
};

} // namespace icmil::slide
