// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/reducedlevelchain.h"

#include "slide/synthetic/areadownsampler.h"
#include "slide/synthetic/rawlevelfile.h"
#include "slide/synthetic/tilerowpipeline.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace icmil::slide {

ReducedLevelChain::ReducedLevelChain(const std::filesystem::path &base, std::int64_t width, std::int64_t height, int factor,
                                     std::size_t count)
{
    std::int64_t sourceWidth = width;
    std::int64_t sourceHeight = height;
    for (std::size_t k = 0; k < count; ++k) {
        const std::filesystem::path rawPath = base.string() + ".level" + std::to_string(k + 1) + ".raw";
        m_files.push_back(
            std::make_unique<RawLevelFile>(rawPath, (sourceWidth + factor - 1) / factor, (sourceHeight + factor - 1) / factor));
        RawLevelFile *raw = m_files.back().get();
        m_shrinkers.push_back(std::make_unique<AreaDownsampler>(sourceWidth, sourceHeight, factor, [this, raw, k](const std::uint8_t *row) {
            raw->appendRow(row);
            if (k + 1 < m_shrinkers.size())
                m_shrinkers[k + 1]->addRow(row);
        }));
        sourceWidth = raw->width();
        sourceHeight = raw->height();
    }
}

ReducedLevelChain::~ReducedLevelChain() = default;

void ReducedLevelChain::addRow(const std::uint8_t *row)
{
    if (!m_shrinkers.empty())
        m_shrinkers.front()->addRow(row);
}

void ReducedLevelChain::rewind()
{
    for (const std::unique_ptr<RawLevelFile> &file : m_files)
        file->rewind();
}

RawLevelFile &ReducedLevelChain::level(std::size_t k) const
{
    return *m_files.at(k - 1);
}

std::vector<RawLevelFile *> ReducedLevelChain::files() const
{
    std::vector<RawLevelFile *> list;
    for (const std::unique_ptr<RawLevelFile> &file : m_files)
        list.push_back(file.get());
    return list;
}

void ReducedLevelChain::writeLevel(std::size_t k, AperioTiffWriter &tiff, AperioTiffWriter::TiledLevel tags, int workers, int jpegQuality,
                                   std::uint8_t background, const std::function<void(std::int64_t rowsDone)> &afterRow) const
{
    RawLevelFile &raw = level(k);
    const int tileSize = tags.tileSize;
    const std::int64_t across = (raw.width() + tileSize - 1) / tileSize;
    const std::int64_t down = (raw.height() + tileSize - 1) / tileSize;
    const std::size_t rowBytes = static_cast<std::size_t>(raw.width()) * 3;

    TileRowPipeline::Steps steps;
    steps.prepareRow = [&](std::int64_t row, std::uint8_t *band, std::size_t stride) {
        const std::int64_t rows = std::min<std::int64_t>(tileSize, raw.height() - row * tileSize);
        raw.readRows(band, stride, rows);
        for (std::int64_t y = 0; y < tileSize; ++y) { // pad with the background beyond the level
            std::uint8_t *line = band + static_cast<std::size_t>(y) * stride;
            const std::size_t keep = y < rows ? rowBytes : 0;
            std::memset(line + keep, background, stride - keep);
        }
    };
    steps.storeTile = [&](std::int64_t row, std::int64_t column, const std::vector<std::uint8_t> &jpeg) {
        tiff.writeTile(static_cast<std::uint32_t>(row * across + column), jpeg);
    };
    steps.afterRow = afterRow;

    tags.width = raw.width();
    tags.height = raw.height();
    tiff.beginTiledLevel(tags);
    TileRowPipeline(workers, tileSize, jpegQuality).run(across, down, steps);
    tiff.endTiledLevel();
}

} // namespace icmil::slide
