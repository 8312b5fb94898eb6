// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/io/slidesource.h"

#include <memory>

struct _openslide;

namespace icmil::slide {

// SlideSource backed by OpenSlide: every format OpenSlide reads (Aperio, Hamamatsu, Leica,
// MIRAX, Philips, Sakura, Trestle, Ventana, generic tiled TIFF). OpenSlide errors are terminal
// for a handle: once a read fails, every later read fails with the same cause.
class OpenSlideSource final : public SlideSource {
public:
    // The vendor format OpenSlide detects for the file ("aperio", "hamamatsu", ...), empty when
    // none (cheap: reads headers only).
    static std::string detectVendor(const std::filesystem::path &path);
    // True when OpenSlide detects a vendor format for the file.
    static bool recognises(const std::filesystem::path &path) { return !detectVendor(path).empty(); }
    static std::unique_ptr<OpenSlideSource> openFile(const std::filesystem::path &path);

    ~OpenSlideSource() override;
    std::string backendName() const override { return "openslide"; }

protected:
    RgbaImage doReadRegion(int level, std::int64_t x, std::int64_t y, int w, int h) const override;
    void doReadRegionArgb(int level, std::int64_t x, std::int64_t y, int w, int h, std::uint32_t *dest) const override;
    RgbaImage doReadAssociatedImage(const std::string &name) const override;

private:
    struct HandleCloser {
        void operator()(_openslide *handle) const;
    };
    using Handle = std::unique_ptr<_openslide, HandleCloser>;

    OpenSlideSource(std::filesystem::path path, SlideMetadata metadata, Handle handle);

    Handle m_handle;
};

} // namespace icmil::slide
