// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/tiledpyramidwriter.h"

#include "common/partialfile.h"
#include "slide/synthetic/aperiotiffwriter.h"
#include "slide/synthetic/pyramidwriter.h"
#include "slide/synthetic/reducedlevelchain.h"
#include "slide/synthetic/tilerowpipeline.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace icmil::slide {

namespace {

std::int64_t tilesAlong(std::int64_t pixels, int tileSize)
{
    return (pixels + tileSize - 1) / tileSize;
}

} // namespace

TiledPyramidWriter::TiledPyramidWriter(TiledPyramidConfig config) : m_config(std::move(config))
{
    if (m_config.width < 1 || m_config.height < 1)
        throw std::runtime_error("the image is " + std::to_string(m_config.width) + " x " + std::to_string(m_config.height) + " pixels");
    if (m_config.width > 0xffffffffLL || m_config.height > 0xffffffffLL)
        throw std::runtime_error("the image is too large for a TIFF");
    if (m_config.tileSize < 16 || m_config.tileSize % 16 != 0)
        throw std::runtime_error("the tile size " + std::to_string(m_config.tileSize) + " is not a multiple of 16");
    if (m_config.levelFactor < 2)
        throw std::runtime_error("the level factor must be at least 2");
}

int TiledPyramidWriter::write(const std::filesystem::path &path, const BandSource &source, const ProgressCallback &progress) const
{
    const TiledPyramidConfig &c = m_config;
    const std::vector<PyramidLevelSize> levels = PyramidWriter::levelSizes(c.width, c.height, c.levelFactor);
    const int workers = c.workers > 0 ? c.workers : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
    double totalTiles = 0.0;
    for (const PyramidLevelSize &level : levels)
        totalTiles += static_cast<double>(tilesAlong(level.width, c.tileSize) * tilesAlong(level.height, c.tileSize));
    double doneTiles = 0.0;
    const auto tilesDone = [&](std::int64_t tiles) {
        doneTiles += static_cast<double>(tiles);
        if (progress)
            progress(std::min(1.0, doneTiles / totalTiles));
    };
    const auto tags = [&](std::size_t k) {
        const double downsample = static_cast<double>(c.width) / static_cast<double>(levels[k].width);
        AperioTiffWriter::TiledLevel level{
            levels[k].width, levels[k].height, c.tileSize, k == 0 ? c.description : std::string(), 0.0, k > 0};
        if (c.mpp && *c.mpp > 0.0)
            level.pixelsPerCentimetre = 10000.0 / (*c.mpp * downsample);
        return level;
    };

    PartialFile file(path);
    {
        const bool bigTiff = static_cast<double>(c.width) * static_cast<double>(c.height) * 3.0 > 4294967296.0;
        AperioTiffWriter tiff(file.partialPath(), bigTiff);
        ReducedLevelChain reduced(file.partialPath(), c.width, c.height, c.levelFactor, levels.size() - 1);

        const std::int64_t across = tilesAlong(c.width, c.tileSize);
        TileRowPipeline::Steps steps;
        steps.prepareRow = [&](std::int64_t row, std::uint8_t *band, std::size_t stride) {
            std::memset(band, c.background, stride * static_cast<std::size_t>(c.tileSize));
            const std::int64_t first = row * c.tileSize;
            source(first, static_cast<int>(std::min<std::int64_t>(c.tileSize, c.height - first)), band, stride);
        };
        steps.storeTile = [&](std::int64_t row, std::int64_t column, const std::vector<std::uint8_t> &jpeg) {
            tiff.writeTile(static_cast<std::uint32_t>(row * across + column), jpeg);
        };
        steps.finishRow = [&](std::int64_t row, const std::uint8_t *band, std::size_t stride) {
            const std::int64_t rows = std::min<std::int64_t>(c.tileSize, c.height - row * c.tileSize);
            for (std::int64_t y = 0; y < rows; ++y)
                reduced.addRow(band + static_cast<std::size_t>(y) * stride);
        };
        steps.afterRow = [&](std::int64_t) { tilesDone(across); };
        tiff.beginTiledLevel(tags(0));
        TileRowPipeline(workers, c.tileSize, c.jpegQuality).run(across, tilesAlong(c.height, c.tileSize), steps);
        tiff.endTiledLevel();

        reduced.rewind();
        for (std::size_t k = 1; k < levels.size(); ++k) {
            const std::int64_t levelAcross = tilesAlong(levels[k].width, c.tileSize);
            reduced.writeLevel(k, tiff, tags(k), workers, c.jpegQuality, c.background, [&](std::int64_t) { tilesDone(levelAcross); });
        }
        tiff.close();
    }
    file.commit();
    return static_cast<int>(levels.size());
}

} // namespace icmil::slide
