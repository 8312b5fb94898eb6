// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/io/slidesource.h"

#include <memory>

namespace icmil::slide {

// SlideSource for ordinary images (PNG, JPEG, strip TIFF, BMP, ... whatever OpenCV decodes):
// one level, no microns-per-pixel. The pixels are decoded once at open and held as RGBA, so
// reads are plain copies and safe from any number of threads.
class PlainImageSource final : public SlideSource {
public:
    // True when OpenCV has a decoder whose signature matches the file's first bytes.
    static bool recognises(const std::filesystem::path &path);
    static std::unique_ptr<PlainImageSource> openFile(const std::filesystem::path &path);

    std::string backendName() const override { return "image"; }

protected:
    RgbaImage doReadRegion(int level, std::int64_t x, std::int64_t y, int w, int h) const override;
    RgbaImage doReadAssociatedImage(const std::string &name) const override;

private:
    PlainImageSource(std::filesystem::path path, SlideMetadata metadata, RgbaImage pixels);

    RgbaImage m_pixels;
};

} // namespace icmil::slide
