// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/paintableimage.h"

#include "slide/io/slidesource.h"

#include <algorithm>

namespace icmil::ui {

// RGBA bytes -> a QImage ready to paint. Measured on the 2-core build machine (a 1920x1080 frame
// of 256 px tiles, min of 41 interleaved runs, two runs): drawn 1:1 onto an RGB32 target,
// Format_RGB32 tiles take 0.34-0.40 ms against 0.50 ms for ARGB32_Premultiplied (no blending;
// 0.58-0.71 vs 0.73-0.82 ms onto an ARGB32_Premultiplied target); with SmoothPixmapTransform at
// 0.3x-2x the two are within noise (5-14 ms); nearest-neighbour downscaling (0.5x-0.7x) favours
// ARGB32_Premultiplied by 15-35%. So opaque tiles (every region the scanner covered) become
// RGB32, which also tells Qt they need no blending, and tiles with any transparency
// ARGB32_Premultiplied, the fastest format that blends. Qt converts RGBA8888 to
// ARGB32_Premultiplied in 11-17 us per tile but to RGB32 in 62-80 us; for opaque pixels the two
// layouts are the same bytes (alpha 0xff), so convert to the first and relabel.
namespace {

// Relabels a premultiplied image whose every pixel has alpha 255 as RGB32: same bytes.
void relabelIfOpaque(QImage &image)
{
    const auto *pixels = reinterpret_cast<const std::uint32_t *>(image.constBits());
    const std::size_t count = static_cast<std::size_t>(image.width()) * static_cast<std::size_t>(image.height());
    std::uint32_t alphaAnd = 0xff000000u;
    for (std::size_t i = 0; i < count; ++i)
        alphaAnd &= pixels[i];
    if (alphaAnd == 0xff000000u)
        image.reinterpretAsFormat(QImage::Format_RGB32);
}

} // namespace

QImage toPaintableImage(const slide::RgbaImage &rgba)
{
    const QImage view(rgba.pixels.data(), rgba.width, rgba.height, rgba.width * 4, QImage::Format_RGBA8888);
    // convertToFormat deep-copies: the result owns its pixels once `rgba` is gone.
    QImage image = view.convertToFormat(QImage::Format_ARGB32_Premultiplied);
    relabelIfOpaque(image);
    return image;
}

QImage readPaintableRegion(const slide::SlideSource &source, int level, std::int64_t x, std::int64_t y, int w, int h)
{
    QImage image(w, h, QImage::Format_ARGB32_Premultiplied);
    if (image.isNull() || image.bytesPerLine() != static_cast<qsizetype>(w) * 4)
        return toPaintableImage(source.readRegion(level, x, y, w, h)); // allocation failed or padded rows
    readPaintableRegionInto(source, level, x, y, image);
    return image;
}

QImage readOverviewImage(const slide::SlideSource &source, int edge)
{
    const slide::LevelInfo &base = source.level(0);
    const double wanted = static_cast<double>(std::max(base.width, base.height)) / edge;
    int level = source.bestLevelForDownsample(wanted);
    while (level + 1 < source.levelCount() && source.level(level).width * source.level(level).height > kMaxOverviewSourcePixels) {
        ++level;
    }
    const slide::LevelInfo &info = source.level(level);
    if (info.width * info.height > kMaxOverviewSourcePixels)
        return {};
    QImage image = readPaintableRegion(source, level, 0, 0, static_cast<int>(info.width), static_cast<int>(info.height));
    if (std::max(image.width(), image.height()) > edge)
        image = image.scaled(edge, edge, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    return image;
}

void readPaintableRegionInto(const slide::SlideSource &source, int level, std::int64_t x, std::int64_t y, QImage &image)
{
    image.reinterpretAsFormat(QImage::Format_ARGB32_Premultiplied); // a recycled buffer may say RGB32
    source.readRegionArgb(level, x, y, image.width(), image.height(), reinterpret_cast<std::uint32_t *>(image.bits()));
    relabelIfOpaque(image);
}

} // namespace icmil::ui
