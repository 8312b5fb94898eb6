// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/io/rgbaimage.h"

#include <cstdint>

#include <QImage>

namespace icmil::slide {
class SlideSource;
}

namespace icmil::ui {

// The one conversion from the slide layer's straight RGBA to a QImage ready to paint: opaque
// pictures become Format_RGB32 (no blending, fastest to draw), pictures with any transparency
// Format_ARGB32_Premultiplied. The result owns its pixels. Safe on any thread.
QImage toPaintableImage(const slide::RgbaImage &rgba);

// A region read straight into a paintable QImage (SlideSource::readRegionArgb): OpenSlide decodes
// into the QImage's own pixels, no intermediate buffer or conversion. Same formats as above;
// throws what readRegionArgb throws. Safe on any thread.
QImage readPaintableRegion(const slide::SlideSource &source, int level, std::int64_t x, std::int64_t y, int w, int h);

// The whole slide, at most `edge` pixels on its long side: the finest level that still holds
// about that many pixels, read whole and scaled down (never up). A level over
// kMaxOverviewSourcePixels is never read (a huge single-level image): null when no level is
// small enough. Throws what readRegionArgb throws. Safe on any thread.
constexpr std::int64_t kMaxOverviewSourcePixels = std::int64_t{64} << 20;
QImage readOverviewImage(const slide::SlideSource &source, int edge);

// The same into `image`, which the caller provides (e.g. a recycled tile buffer): a non-null
// ARGB32_Premultiplied or RGB32 image of the region's size with rows of exactly width * 4 bytes.
// Its format is set as above.
void readPaintableRegionInto(const slide::SlideSource &source, int level, std::int64_t x, std::int64_t y, QImage &image);

} // namespace icmil::ui
