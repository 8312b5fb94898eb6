// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/export/wholeslideheatmap.h"

#include "common/asciicase.h"
#include "common/colormaptable.h"
#include "common/numberformat.h"
#include "common/percentileranks.h"
#include "project/atomicfile.h"
#include "project/projecterror.h"
#include "slide/io/slidesource.h"
#include "slide/slideerror.h"
#include "slide/synthetic/tiledpyramidwriter.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace icmil::project {

namespace {

constexpr int kBandRows = 256;                                // output rows rendered at a time (the TIFF's tile rows)
constexpr std::int64_t kMaxPngPixels = std::int64_t{1} << 28; // the PNG is built whole in memory
constexpr double kSlideBlockLevelPixels = 2048.0;             // the longest side of one slide read, level pixels

// One patch's square in output pixels, [x0, x1) x [y0, y1), and its colour.
struct Cell {
    std::int64_t x0, x1, y0, y1;
    ColormapTable::Rgb colour;
};

// The pixels [first, last) whose centres lie in [start, start + size) level-0 pixels; at least
// the pixel holding the square's centre.
std::pair<std::int64_t, std::int64_t> pixelSpan(std::int64_t start, std::int64_t size, double downsample)
{
    auto first = static_cast<std::int64_t>(std::ceil(static_cast<double>(start) / downsample - 0.5));
    auto last = static_cast<std::int64_t>(std::ceil(static_cast<double>(start + size) / downsample - 0.5));
    if (last <= first) {
        first = static_cast<std::int64_t>(std::floor((static_cast<double>(start) + static_cast<double>(size) / 2.0) / downsample));
        last = first + 1;
    }
    return {first, last};
}

// The whole-slide picture, rendered a band of rows at a time as straight RGBA.
class HeatmapRaster {
public:
    HeatmapRaster(const slide::SlideSource &slide, const std::vector<std::array<std::int64_t, 2>> &coords, std::int64_t patchSize,
                  const std::vector<float> &scores, const WholeSlideHeatmapOptions &options)
        : m_slide(slide), m_options(options)
    {
        if (coords.size() != scores.size())
            throw std::invalid_argument("there are " + std::to_string(scores.size()) + " scores for " + std::to_string(coords.size())
                                        + " patches");
        if (coords.empty())
            throw std::invalid_argument("there are no patches");
        if (patchSize < 1)
            throw std::invalid_argument("the patch size is " + std::to_string(patchSize) + " level-0 pixels");
        if (!(options.downsample >= 1.0 && options.downsample <= 65536.0))
            throw std::invalid_argument("the downsample " + formatShortest(options.downsample) + " is not from 1 to 65536");
        if (!(options.opacity >= 0.0 && options.opacity <= 1.0))
            throw std::invalid_argument("the opacity " + formatShortest(options.opacity) + " is not from 0 to 1");
        for (std::size_t i = 0; i < scores.size(); ++i)
            if (!std::isfinite(scores[i]))
                throw std::invalid_argument("the score of patch " + std::to_string(i) + " is not a number");
        const ColormapTable &colormap = colormapTable(options.colormap);
        const slide::LevelInfo &base = slide.level(0);
        m_width = static_cast<std::int64_t>(std::ceil(static_cast<double>(base.width) / options.downsample));
        m_height = static_cast<std::int64_t>(std::ceil(static_cast<double>(base.height) / options.downsample));

        const std::vector<double> normalised = normalise(scores, options.normalisation);
        m_bands.resize(static_cast<std::size_t>((m_height + kBandRows - 1) / kBandRows));
        for (std::size_t i = 0; i < coords.size(); ++i) {
            const auto [x0, x1] = pixelSpan(coords[i][0], patchSize, options.downsample);
            const auto [y0, y1] = pixelSpan(coords[i][1], patchSize, options.downsample);
            Cell cell{std::max<std::int64_t>(x0, 0), std::min(x1, m_width), std::max<std::int64_t>(y0, 0), std::min(y1, m_height),
                      colormap.at(normalised[i])};
            if (cell.x0 >= cell.x1 || cell.y0 >= cell.y1)
                continue; // off the slide
            const auto index = static_cast<std::uint32_t>(m_cells.size());
            m_cells.push_back(cell);
            for (std::int64_t band = cell.y0 / kBandRows; band <= (cell.y1 - 1) / kBandRows; ++band)
                m_bands[static_cast<std::size_t>(band)].push_back(index);
        }
    }

    std::int64_t width() const { return m_width; }
    std::int64_t height() const { return m_height; }

    // Rows [first, first + rows) into `rgba` (`stride` bytes apart); rows lie within one band.
    void render(std::int64_t first, int rows, std::uint8_t *rgba, std::size_t stride) const
    {
        const bool overlay = m_options.overlay;
        cv::Mat picture(rows, static_cast<int>(m_width), CV_8UC4, rgba, stride);
        if (overlay)
            readSlide(first, rows, picture);
        else if (m_options.whiteBackground)
            picture.setTo(cv::Scalar(255, 255, 255, 255));
        else
            picture.setTo(cv::Scalar(0, 0, 0, 0));
        const int alpha = static_cast<int>(std::lround(m_options.opacity * 256.0));
        for (const std::uint32_t index : m_bands[static_cast<std::size_t>(first / kBandRows)]) {
            const Cell &cell = m_cells[index];
            const std::int64_t top = std::max(cell.y0, first);
            const std::int64_t bottom = std::min(cell.y1, first + rows);
            for (std::int64_t y = top; y < bottom; ++y) {
                std::uint8_t *pixel = rgba + static_cast<std::size_t>(y - first) * stride + static_cast<std::size_t>(cell.x0) * 4;
                for (std::int64_t x = cell.x0; x < cell.x1; ++x, pixel += 4) {
                    for (int c = 0; c < 3; ++c)
                        pixel[c] = overlay ? static_cast<std::uint8_t>((pixel[c] * (256 - alpha) + cell.colour[c] * alpha + 128) >> 8)
                                           : cell.colour[c];
                    pixel[3] = 255;
                }
            }
        }
    }

private:
    static std::vector<double> normalise(const std::vector<float> &scores, ScoreNormalisation normalisation)
    {
        if (normalisation == ScoreNormalisation::PercentileRank)
            return percentileRanks(scores);
        if (normalisation == ScoreNormalisation::Probability) {
            std::vector<double> clamped;
            clamped.reserve(scores.size());
            for (const float score : scores)
                clamped.push_back(std::clamp(static_cast<double>(score), 0.0, 1.0));
            return clamped;
        }
        const auto [lowest, highest] = std::minmax_element(scores.begin(), scores.end());
        const double range = static_cast<double>(*highest) - static_cast<double>(*lowest);
        std::vector<double> normalised;
        normalised.reserve(scores.size());
        for (const float score : scores)
            normalised.push_back(range > 0.0 ? (static_cast<double>(score) - *lowest) / range : 0.5);
        return normalised;
    }

    // The slide under rows [first, first + rows), opaque (its transparent parts over white), read
    // at the finest level not finer than the downsample in blocks of at most ~2048 x 2048 level
    // pixels, each resized to its output block.
    void readSlide(std::int64_t first, int rows, cv::Mat &picture) const
    {
        const double downsample = m_options.downsample;
        const int level = m_slide.bestLevelForDownsample(downsample);
        const slide::LevelInfo &info = m_slide.level(level);
        const double scale = downsample / info.downsample; // level pixels per output pixel
        const int block = static_cast<int>(std::clamp(std::floor(kSlideBlockLevelPixels / scale), 16.0, 256.0));
        for (int by = 0; by < rows; by += block) {
            const int outH = std::min(block, rows - by);
            for (std::int64_t bx = 0; bx < m_width; bx += block) {
                const int outW = static_cast<int>(std::min<std::int64_t>(block, m_width - bx));
                cv::Mat target = picture(cv::Rect(static_cast<int>(bx), by, outW, outH));
                const auto lx0 = static_cast<std::int64_t>(std::floor(static_cast<double>(bx) * scale));
                const auto ly0 = static_cast<std::int64_t>(std::floor(static_cast<double>(first + by) * scale));
                const std::int64_t lx1 = std::min(info.width, static_cast<std::int64_t>(std::ceil(static_cast<double>(bx + outW) * scale)));
                const std::int64_t ly1
                    = std::min(info.height, static_cast<std::int64_t>(std::ceil(static_cast<double>(first + by + outH) * scale)));
                if (lx1 <= lx0 || ly1 <= ly0) {
                    target.setTo(cv::Scalar(255, 255, 255, 255));
                    continue;
                }
                const slide::RgbaImage region = m_slide.readRegion(level, std::llround(static_cast<double>(lx0) * info.downsample),
                                                                   std::llround(static_cast<double>(ly0) * info.downsample),
                                                                   static_cast<int>(lx1 - lx0), static_cast<int>(ly1 - ly0));
                cv::Mat pixels(region.height, region.width, CV_8UC4, const_cast<std::uint8_t *>(region.pixels.data()));
                cv::Mat opaque(pixels.size(), CV_8UC4);
                for (int y = 0; y < pixels.rows; ++y) {
                    const std::uint8_t *in = pixels.ptr<std::uint8_t>(y);
                    std::uint8_t *out = opaque.ptr<std::uint8_t>(y);
                    for (int x = 0; x < pixels.cols * 4; x += 4) {
                        const int a = in[x + 3];
                        for (int c = 0; c < 3; ++c)
                            out[x + c] = static_cast<std::uint8_t>((in[x + c] * a + 255 * (255 - a) + 127) / 255);
                        out[x + 3] = 255;
                    }
                }
                if (opaque.size() == target.size())
                    opaque.copyTo(target);
                else
                    cv::resize(opaque, target, target.size(), 0, 0, scale >= 1.0 ? cv::INTER_AREA : cv::INTER_LINEAR);
            }
        }
    }

    const slide::SlideSource &m_slide;
    const WholeSlideHeatmapOptions &m_options;
    std::int64_t m_width = 0;
    std::int64_t m_height = 0;
    std::vector<Cell> m_cells;
    std::vector<std::vector<std::uint32_t>> m_bands; // per band of kBandRows rows: the cells in it
};

WholeSlideHeatmapImage writePng(const HeatmapRaster &raster, const std::filesystem::path &output)
{
    if (raster.width() * raster.height() > kMaxPngPixels)
        throw std::invalid_argument("a PNG of " + std::to_string(raster.width()) + " x " + std::to_string(raster.height())
                                    + " pixels is too large: write a TIFF or use a larger downsample");
    cv::Mat picture(static_cast<int>(raster.height()), static_cast<int>(raster.width()), CV_8UC4);
    for (std::int64_t first = 0; first < raster.height(); first += kBandRows) {
        const int rows = static_cast<int>(std::min<std::int64_t>(kBandRows, raster.height() - first));
        raster.render(first, rows, picture.ptr<std::uint8_t>(static_cast<int>(first)), picture.step);
    }
    cv::cvtColor(picture, picture, cv::COLOR_RGBA2BGRA);
    std::vector<std::uint8_t> png;
    if (!cv::imencode(".png", picture, png))
        throw std::runtime_error("OpenCV cannot encode the PNG");
    writeFileAtomically(output, std::string_view(reinterpret_cast<const char *>(png.data()), png.size()));
    return {raster.width(), raster.height(), 1};
}

WholeSlideHeatmapImage writeTiff(const slide::SlideSource &slide, const HeatmapRaster &raster, const WholeSlideHeatmapOptions &options,
                                 const std::filesystem::path &output)
{
    slide::TiledPyramidConfig config;
    config.width = raster.width();
    config.height = raster.height();
    config.tileSize = kBandRows;
    config.jpegQuality = options.jpegQuality;
    config.workers = options.threads;
    if (slide.metadata().mppX)
        config.mpp = *slide.metadata().mppX * options.downsample;
    config.description = "ICMIL Studio heatmap of " + slide.path().filename().string() + ": " + options.colormap + ", "
        + normalisationName(options.normalisation) + ", downsample " + formatShortest(options.downsample)
        + (options.overlay ? ", over the slide at opacity " + formatShortest(options.opacity) : std::string());
    std::vector<std::uint8_t> rgba(static_cast<std::size_t>(raster.width()) * 4 * kBandRows);
    const int levels
        = slide::TiledPyramidWriter(config).write(output, [&](std::int64_t first, int rows, std::uint8_t *band, std::size_t stride) {
              raster.render(first, rows, rgba.data(), static_cast<std::size_t>(raster.width()) * 4);
              for (int y = 0; y < rows; ++y) {
                  const std::uint8_t *in = rgba.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(raster.width()) * 4;
                  std::uint8_t *out = band + static_cast<std::size_t>(y) * stride;
                  for (std::int64_t x = 0; x < raster.width(); ++x, in += 4, out += 3) {
                      const int a = in[3]; // transparent: over white
                      for (int c = 0; c < 3; ++c)
                          out[c] = static_cast<std::uint8_t>((in[c] * a + 255 * (255 - a) + 127) / 255);
                  }
              }
          });
    return {raster.width(), raster.height(), levels};
}

} // namespace

std::string normalisationName(ScoreNormalisation normalisation)
{
    switch (normalisation) {
    case ScoreNormalisation::PercentileRank: return "percentile rank";
    case ScoreNormalisation::MinMax: return "min-max";
    case ScoreNormalisation::Probability: return "probability";
    }
    return {};
}

WholeSlideHeatmapImage writeWholeSlideHeatmap(const slide::SlideSource &slide, const std::vector<std::array<std::int64_t, 2>> &coords,
                                              std::int64_t patchSizeLevel0, const std::vector<float> &scores,
                                              const WholeSlideHeatmapOptions &options, const std::filesystem::path &output)
{
    try {
        const std::string extension = asciiLower(output.extension().string());
        const bool png = extension == ".png";
        if (!png && extension != ".tif" && extension != ".tiff")
            throw std::invalid_argument("the file name does not end in .png, .tif or .tiff");
        const HeatmapRaster raster(slide, coords, patchSizeLevel0, scores, options);
        return png ? writePng(raster, output) : writeTiff(slide, raster, options, output);
    } catch (const slide::SlideError &) {
        throw; // names the slide and the cause
    } catch (const ProjectError &) {
        throw; // the atomic write names the file and the cause
    } catch (const std::exception &e) {
        throw ProjectError("Cannot write the heatmap '" + output.string() + "': " + e.what());
    }
}

SlideScores slideScores(const SlideAttention &attention, const HeatmapScoreChoice &choice)
{
    if (!choice.instance)
        return {attention.attentionRaw.empty() ? attention.attention : attention.attentionRaw, "attention"};
    const std::size_t classes = attention.probabilities.size();
    if (attention.instanceScores.empty() || classes == 0)
        throw ProjectError("Slide '" + attention.slideId + "' has no instance scores (predict it again with a model that has them)");
    const std::size_t index = choice.classIndex < 0 ? classes - 1 : static_cast<std::size_t>(choice.classIndex);
    if (index >= classes)
        throw ProjectError("Slide '" + attention.slideId + "' has no class " + std::to_string(index) + " (" + std::to_string(classes)
                           + " classes)");
    const std::string name = index < attention.classNames.size() ? attention.classNames[index] : "class " + std::to_string(index);
    return {instanceScoresOfClass(attention, index), "probability of " + name};
}

WholeSlideHeatmapImage writeWholeSlideHeatmap(const slide::SlideSource &slide, const SlideAttention &attention,
                                              const WholeSlideHeatmapOptions &options, const std::filesystem::path &output,
                                              const HeatmapScoreChoice &choice)
{
    return writeWholeSlideHeatmap(slide, attention.coords, attentionPatchSize(attention), slideScores(attention, choice).scores, options,
                                  output);
}

std::int64_t attentionPatchSize(const SlideAttention &attention)
{
    if (attention.patchSizeLevel0 && *attention.patchSizeLevel0 > 0)
        return *attention.patchSizeLevel0;
    std::int64_t step = 0;
    for (std::size_t i = 1; i < attention.coords.size(); ++i) {
        for (int axis = 0; axis < 2; ++axis) {
            const std::int64_t d = std::abs(attention.coords[i][axis] - attention.coords[i - 1][axis]);
            if (d > 0 && (step == 0 || d < step))
                step = d;
        }
    }
    return step > 0 ? step : 256;
}

void writeHeatmapLegend(const std::filesystem::path &path, const WholeSlideHeatmapOptions &options, const std::string &what)
{
    try {
        const ColormapTable &colormap = colormapTable(options.colormap);
        constexpr int kMargin = 16;
        constexpr int kBarHeight = 24;
        const std::string title = colormap.name + ": " + what + ", " + normalisationName(options.normalisation);
        const int font = cv::FONT_HERSHEY_SIMPLEX;
        const double fontScale = 0.5;
        int baseline = 0;
        const cv::Size titleSize = cv::getTextSize(title, font, fontScale, 1, &baseline);
        const int width = std::max(ColormapTable::kSize, titleSize.width) + 2 * kMargin;
        const int barTop = kMargin + titleSize.height + 10;
        const int height = barTop + kBarHeight + 8 + titleSize.height + kMargin;
        cv::Mat legend(height, width, CV_8UC3, cv::Scalar(255, 255, 255)); // BGR, as imencode takes it
        const cv::Scalar ink(32, 32, 32);
        cv::putText(legend, title, cv::Point(kMargin, kMargin + titleSize.height), font, fontScale, ink, 1, cv::LINE_AA);
        for (int i = 0; i < ColormapTable::kSize; ++i) {
            const ColormapTable::Rgb &c = colormap.rgb[static_cast<std::size_t>(i)];
            cv::line(legend, cv::Point(kMargin + i, barTop), cv::Point(kMargin + i, barTop + kBarHeight - 1), cv::Scalar(c[2], c[1], c[0]));
        }
        cv::rectangle(legend, cv::Rect(kMargin - 1, barTop - 1, ColormapTable::kSize + 2, kBarHeight + 2), ink);
        const int labels = barTop + kBarHeight + 8 + titleSize.height;
        cv::putText(legend, "0", cv::Point(kMargin, labels), font, fontScale, ink, 1, cv::LINE_AA);
        const cv::Size one = cv::getTextSize("1", font, fontScale, 1, &baseline);
        cv::putText(legend, "1", cv::Point(kMargin + ColormapTable::kSize - one.width, labels), font, fontScale, ink, 1, cv::LINE_AA);
        std::vector<std::uint8_t> png;
        if (!cv::imencode(".png", legend, png))
            throw std::runtime_error("OpenCV cannot encode the PNG");
        writeFileAtomically(path, std::string_view(reinterpret_cast<const char *>(png.data()), png.size()));
    } catch (const ProjectError &) {
        throw; // the atomic write names the file
    } catch (const std::exception &e) {
        throw ProjectError("Cannot write the heatmap legend '" + path.string() + "': " + e.what());
    }
}

} // namespace icmil::project
