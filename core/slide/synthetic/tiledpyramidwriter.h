// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace icmil::slide {

struct TiledPyramidConfig {
    std::int64_t width = 0; // level 0, pixels
    std::int64_t height = 0;
    int tileSize = 256;
    int levelFactor = 2; // levels ceil(previous / factor) while the previous one's long side exceeds 512
    int jpegQuality = 90;
    int workers = 0;               // JPEG encoding threads; 0: all hardware threads
    std::optional<double> mpp;     // microns per level-0 pixel: written as resolution tags when known
    std::string description;       // ImageDescription of level 0 (not "Aperio...": the file is a generic TIFF)
    std::uint8_t background = 255; // the grey level of the tiles' parts beyond the image
};

// Writes a generic pyramidal TIFF (tiled, JPEG, RGB; each coarser level a reduced-resolution
// directory) that OpenSlide's generic-tiff backend, QuPath and ASAP open, from level-0 pixels a
// caller renders one band of tile rows at a time: memory stays at a few bands whatever the size.
// The file appears atomically (common/partialfile.h). Errors (and an exception thrown by the
// source or the progress callback, e.g. to cancel) throw std::runtime_error whose message is the
// cause only, and leave no file behind.
class TiledPyramidWriter {
public:
    // Fills `rows` level-0 rows starting at `firstRow` into `band` (RGB, `stride` bytes apart).
    // The band arrives filled with the background, `stride` covering whole tiles.
    using BandSource = std::function<void(std::int64_t firstRow, int rows, std::uint8_t *band, std::size_t stride)>;
    using ProgressCallback = std::function<void(double fraction)>; // after each row of tiles

    explicit TiledPyramidWriter(TiledPyramidConfig config);

    // Returns the number of levels written.
    int write(const std::filesystem::path &path, const BandSource &source, const ProgressCallback &progress = {}) const;

private:
    TiledPyramidConfig m_config;
};

} // namespace icmil::slide
