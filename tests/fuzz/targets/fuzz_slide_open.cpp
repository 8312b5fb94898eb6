// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: opening a slide (SlideSource::open: the format checks, OpenSlide or the plain
// image reader) and reading from it as the viewer and the patch readers do: a 64 x 64 region at
// the corners of every level, the associated images. The file is named .tif, which both the
// Aperio/generic-TIFF reader (by content) and the plain image reader (by name) take. SlideError is
// the documented outcome.

#include "fuzztarget.h"
#include "slide/io/slidesource.h"
#include "slide/slideerror.h"

#include <algorithm>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = icmil::fuzz::writeScratchFile("slide.tif", data, size);
    std::unique_ptr<icmil::slide::SlideSource> slide;
    try {
        slide = icmil::slide::SlideSource::open(path);
    } catch (const icmil::slide::SlideError &) {
        return 0;
    }
    for (int level = 0; level < slide->levelCount(); ++level) {
        const auto &info = slide->level(level);
        const int w = static_cast<int>(std::min<std::int64_t>(info.width, 64));
        const int h = static_cast<int>(std::min<std::int64_t>(info.height, 64));
        if (w <= 0 || h <= 0)
            continue;
        const auto right = static_cast<std::int64_t>(static_cast<double>(info.width - w) * info.downsample);
        const auto bottom = static_cast<std::int64_t>(static_cast<double>(info.height - h) * info.downsample);
        for (const auto &[x, y] : {std::pair<std::int64_t, std::int64_t>{0, 0}, {right, bottom}}) {
            try {
                (void)slide->readRegion(level, x, y, w, h);
            } catch (const icmil::slide::SlideError &) { }
        }
    }
    for (const auto &name : slide->metadata().associatedImages) {
        try {
            (void)slide->readAssociatedImage(name);
        } catch (const icmil::slide::SlideError &) { }
    }
    return 0;
}
