// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/pyramidwriter.h"

#include "slide/synthetic/aperiotiffwriter.h"
#include "slide/synthetic/glassslidepainter.h"
#include "slide/synthetic/phantomtilerenderer.h"
#include "slide/synthetic/rawlevelfile.h"
#include "slide/synthetic/reducedlevelchain.h"
#include "slide/synthetic/syntheticslidewriter.h"
#include "slide/synthetic/tilerowpipeline.h"
#include "slide/synthetic/tissuephantom.h"

#include <algorithm>
#include <charconv>
#include <memory>
#include <stdexcept>
#include <thread>

#include <opencv2/imgproc.hpp>

namespace icmil::slide {

namespace {

constexpr const char *kAperioLibrary = "Aperio Image Library v10.0.50";
constexpr std::int64_t kSmallestLevelSide = 512;
constexpr int kThumbnailSide = 1024;

std::int64_t tilesAlong(std::int64_t pixels, int tileSize)
{
    return (pixels + tileSize - 1) / tileSize;
}

std::string shortest(double value)
{
    char buffer[32];
    const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
    return std::string(buffer, result.ptr);
}

std::string size(std::int64_t width, std::int64_t height)
{
    return std::to_string(width) + "x" + std::to_string(height);
}

} // namespace

PyramidWriter::PyramidWriter(const SyntheticSlideConfig &config, const TissuePhantom &phantom, const std::atomic_bool &cancelled,
                             ProgressCallback progress)
    : m_config(config), m_phantom(phantom), m_cancelled(cancelled), m_progress(std::move(progress)),
      m_workers(config.threads > 0 ? config.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))),
      m_levels(levelSizes(config.width, config.height, config.levelFactor))
{
    for (const PyramidLevelSize &level : m_levels)
        m_totalPixels += static_cast<double>(tilesAlong(level.width, config.tileSize) * tilesAlong(level.height, config.tileSize))
            * config.tileSize * config.tileSize;
}

std::vector<PyramidLevelSize> PyramidWriter::levelSizes(std::int64_t width, std::int64_t height, int factor)
{
    std::vector<PyramidLevelSize> levels{{width, height}};
    while (std::max(levels.back().width, levels.back().height) > kSmallestLevelSide) {
        const PyramidLevelSize &last = levels.back();
        levels.push_back({(last.width + factor - 1) / factor, (last.height + factor - 1) / factor});
    }
    return levels;
}

void PyramidWriter::checkCancelled() const
{
    if (m_cancelled)
        throw std::runtime_error("cancelled");
}

void PyramidWriter::tilesDone(std::int64_t pixels)
{
    m_donePixels += static_cast<double>(pixels);
    checkCancelled();
    const auto now = std::chrono::steady_clock::now();
    if (m_progress && now - m_lastReport >= std::chrono::milliseconds(100)) {
        m_lastReport = now;
        m_progress(0.99 * m_donePixels / m_totalPixels); // the last 1% is the ground truth and the rename
    }
}

std::string PyramidWriter::description(int level) const
{
    const PyramidLevelSize &base = m_levels.front();
    const std::string tile = std::to_string(m_config.tileSize);
    std::string text = std::string(kAperioLibrary) + "\r\n" + size(base.width, base.height) + " [0,0 " + size(base.width, base.height)
        + "] (" + tile + "x" + tile + ")";
    if (level > 0)
        text += " -> " + size(m_levels[static_cast<std::size_t>(level)].width, m_levels[static_cast<std::size_t>(level)].height);
    text += " JPEG/RGB Q=" + std::to_string(m_config.jpegQuality);
    if (level == 0)
        text += "|AppMag = " + std::to_string(m_config.objectivePower) + "|MPP = " + shortest(m_config.mpp)
            + "|ScanScope ID = ICMIL-SYNTHETIC|Filename = " + m_config.slideId + "|Synthetic seed = " + std::to_string(m_config.seed);
    return text;
}

std::string PyramidWriter::associatedDescription(const std::string &name, int width, int height) const
{
    // OpenSlide 3.4.1 names a stripped directory after the first word of its description's second
    // line, splitting lines at '\r' or '\n' alike: so "\r\n" would make the second line empty.
    return std::string(kAperioLibrary) + "\n" + name + " " + size(width, height);
}

void PyramidWriter::write(const std::filesystem::path &path)
{
    m_lastReport = std::chrono::steady_clock::now();
    if (m_progress)
        m_progress(0.0);
    const PyramidLevelSize &base = m_levels.front();
    const bool bigTiff = static_cast<double>(base.width) * static_cast<double>(base.height) * 3.0 > 4294967296.0;
    AperioTiffWriter tiff(path, bigTiff);

    // Raw files for levels 1.. (at least level 1, which also feeds the thumbnail of a one-level slide).
    ReducedLevelChain reduced(path, base.width, base.height, m_config.levelFactor, std::max<std::size_t>(1, m_levels.size() - 1));
    writeLevelZero(tiff, reduced);
    reduced.rewind();
    std::vector<RawLevelFile *> rawLevels = reduced.files();

    const cv::Mat thumbnail = makeThumbnail(rawLevels);
    tiff.writeStrippedImage(thumbnail.data, thumbnail.cols, thumbnail.rows,
                            associatedDescription("thumbnail", thumbnail.cols, thumbnail.rows), AperioTiffWriter::StripCompression::Jpeg,
                            90);
    checkCancelled();
    for (std::size_t level = 1; level < m_levels.size(); ++level)
        writeReducedLevel(tiff, static_cast<int>(level), reduced);

    const cv::Mat label = GlassSlidePainter::label(m_config.slideId, m_config.seed);
    tiff.writeStrippedImage(label.data, label.cols, label.rows, associatedDescription("label", label.cols, label.rows),
                            AperioTiffWriter::StripCompression::Lzw, 0);
    const cv::Mat macro = GlassSlidePainter::macro(thumbnail, label);
    tiff.writeStrippedImage(macro.data, macro.cols, macro.rows, associatedDescription("macro", macro.cols, macro.rows),
                            AperioTiffWriter::StripCompression::Jpeg, 90);
    checkCancelled();
    tiff.close();
}

void PyramidWriter::writeLevelZero(AperioTiffWriter &tiff, ReducedLevelChain &reduced)
{
    const int tileSize = m_config.tileSize;
    const PyramidLevelSize &level = m_levels.front();
    const std::int64_t across = tilesAlong(level.width, tileSize);
    const std::int64_t down = tilesAlong(level.height, tileSize);
    std::vector<std::unique_ptr<PhantomTileRenderer>> renderers;
    for (int worker = 0; worker < m_workers; ++worker)
        renderers.push_back(std::make_unique<PhantomTileRenderer>(m_phantom));

    TileRowPipeline::Steps steps;
    steps.renderTile = [&](std::int64_t row, std::int64_t column, std::uint8_t *tile, std::size_t stride, int worker) {
        renderers[static_cast<std::size_t>(worker)]->render(column * tileSize, row * tileSize, tileSize, tile, stride);
    };
    steps.storeTile = [&](std::int64_t row, std::int64_t column, const std::vector<std::uint8_t> &jpeg) {
        tiff.writeTile(static_cast<std::uint32_t>(row * across + column), jpeg);
    };
    steps.finishRow = [&](std::int64_t row, const std::uint8_t *band, std::size_t stride) {
        const std::int64_t rows = std::min<std::int64_t>(tileSize, level.height - row * tileSize);
        for (std::int64_t y = 0; y < rows; ++y)
            reduced.addRow(band + static_cast<std::size_t>(y) * stride);
    };
    steps.afterRow = [&](std::int64_t) { tilesDone(across * tileSize * tileSize); };

    tiff.beginTiledLevel({level.width, level.height, tileSize, description(0), 10000.0 / m_config.mpp, false});
    TileRowPipeline(m_workers, tileSize, m_config.jpegQuality).run(across, down, steps);
    tiff.endTiledLevel();
}

void PyramidWriter::writeReducedLevel(AperioTiffWriter &tiff, int levelIndex, const ReducedLevelChain &reduced)
{
    const int tileSize = m_config.tileSize;
    const PyramidLevelSize &level = m_levels[static_cast<std::size_t>(levelIndex)];
    const std::int64_t across = tilesAlong(level.width, tileSize);
    const double downsample = static_cast<double>(m_levels.front().width) / static_cast<double>(level.width);
    reduced.writeLevel(static_cast<std::size_t>(levelIndex), tiff,
                       {level.width, level.height, tileSize, description(levelIndex), 10000.0 / (m_config.mpp * downsample), true},
                       m_workers, m_config.jpegQuality, PhantomTileRenderer::kBackground,
                       [&](std::int64_t) { tilesDone(across * tileSize * tileSize); });
}

cv::Mat PyramidWriter::makeThumbnail(std::vector<RawLevelFile *> &rawLevels) const
{
    // The coarsest level whose long side still reaches the thumbnail size, else the finest one.
    RawLevelFile *source = rawLevels.front();
    for (RawLevelFile *raw : rawLevels)
        if (std::max(raw->width(), raw->height()) >= kThumbnailSide)
            source = raw;
    cv::Mat pixels(static_cast<int>(source->height()), static_cast<int>(source->width()), CV_8UC3);
    source->readRows(pixels.data, pixels.step, source->height());
    source->rewind();
    const double longSide = static_cast<double>(std::max(pixels.cols, pixels.rows));
    if (longSide <= kThumbnailSide)
        return pixels;
    const double scale = kThumbnailSide / longSide;
    const cv::Size size(std::max(1, static_cast<int>(pixels.cols * scale + 0.5)), std::max(1, static_cast<int>(pixels.rows * scale + 0.5)));
    cv::Mat thumbnail;
    cv::resize(pixels, thumbnail, size, 0, 0, cv::INTER_AREA);
    return thumbnail;
}

} // namespace icmil::slide
