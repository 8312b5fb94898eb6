// SPDX-License-Identifier: GPL-3.0-or-later
// Whole-slide heatmaps: each patch's colour lands on its patch's pixels at two downsamples, alone
// (transparent elsewhere) and over the slide; the pyramidal TIFF opens with OpenSlide with its
// levels, resolution and colours; errors are one sentence.
#include "project/export/wholeslideheatmap.h"
#include "project/projecterror.h"

#include "common/colormaptable.h"
#include "common/slidetestsupport.h"
#include "slide/io/slidesource.h"
#include "slide/synthetic/syntheticslidewriter.h"

#include <QtTest>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

using namespace icmil;
using namespace icmil::project;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kPatch = 256;
const cv::Vec3b kSlideRgb(200, 180, 160); // the plain slide's colour

// Four patches; raw scores 0.1, 3, -2, 1: percentile ranks 1/3, 1, 0, 2/3.
const std::vector<std::array<std::int64_t, 2>> kCoords{{0, 0}, {256, 0}, {512, 256}, {1024, 1024}};
const std::vector<float> kScores{0.1f, 3.0f, -2.0f, 1.0f};
const std::vector<double> kRanks{1.0 / 3.0, 1.0, 0.0, 2.0 / 3.0};

ColormapTable::Rgb colourOf(std::size_t patch, const std::string &map = "viridis")
{
    return colormapTable(map).at(kRanks[patch]);
}

// RGBA of a BGRA PNG pixel.
std::array<int, 4> rgbaAt(const cv::Mat &bgra, std::int64_t x, std::int64_t y)
{
    const cv::Vec4b p = bgra.at<cv::Vec4b>(static_cast<int>(y), static_cast<int>(x));
    return {p[2], p[1], p[0], p[3]};
}

std::array<int, 4> opaque(const ColormapTable::Rgb &c)
{
    return {c[0], c[1], c[2], 255};
}

// The slide blended with the colour at opacity 0.5, as the renderer rounds it.
std::array<int, 4> blended(const ColormapTable::Rgb &c)
{
    std::array<int, 4> out{0, 0, 0, 255};
    for (int k = 0; k < 3; ++k)
        out[static_cast<std::size_t>(k)] = (kSlideRgb[k] * 128 + c[static_cast<std::size_t>(k)] * 128 + 128) >> 8;
    return out;
}

QString errorOf(const std::function<void()> &write)
{
    try {
        write();
    } catch (const ProjectError &e) {
        return QString::fromStdString(e.what());
    }
    return QStringLiteral("(no error)");
}

bool near(const std::uint8_t *rgba, const ColormapTable::Rgb &c, int tolerance)
{
    for (int k = 0; k < 3; ++k)
        if (std::abs(int(rgba[k]) - int(c[static_cast<std::size_t>(k)])) > tolerance)
            return false;
    return true;
}

} // namespace

class TstWholeSlideHeatmap : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    fs::path m_plain; // 2048 x 1536 of kSlideRgb, no mpp
    fs::path m_svs;   // a synthetic 6000 x 4800 slide at 0.5 µm per pixel

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_wholeslideheatmap");
        m_plain = m_dir / "plain.png";
        cv::Mat plain(1536, 2048, CV_8UC3, cv::Scalar(kSlideRgb[2], kSlideRgb[1], kSlideRgb[0]));
        QVERIFY(cv::imwrite(m_plain.string(), plain));
        slide::SyntheticSlideConfig config;
        config.width = 6000;
        config.height = 4800;
        config.mpp = 0.5;
        config.threads = 2;
        m_svs = m_dir / "synthetic.svs";
        slide::SyntheticSlideWriter(config).write(m_svs, m_dir / "synthetic_mask.png", m_dir / "synthetic.geojson");
    }

    void cellsLandOnTheirPatches_data()
    {
        QTest::addColumn<double>("downsample");
        QTest::newRow("4") << 4.0;
        QTest::newRow("16") << 16.0;
    }

    void cellsLandOnTheirPatches()
    {
        QFETCH(double, downsample);
        const auto d = static_cast<std::int64_t>(downsample);
        const auto slide = slide::SlideSource::open(m_plain);
        WholeSlideHeatmapOptions options;
        options.downsample = downsample;
        const fs::path alone = m_dir / ("alone-" + std::to_string(d) + ".png");
        const WholeSlideHeatmapImage image = writeWholeSlideHeatmap(*slide, kCoords, kPatch, kScores, options, alone);
        QCOMPARE(image.width, 2048 / d);
        QCOMPARE(image.height, 1536 / d);
        QVERIFY(!fs::exists(alone.string() + ".partial"));
        const cv::Mat png = cv::imread(alone.string(), cv::IMREAD_UNCHANGED);
        QCOMPARE(png.type(), CV_8UC4);
        QCOMPARE(png.cols, 2048 / d);
        QCOMPARE(png.rows, 1536 / d);
        for (std::size_t i = 0; i < kCoords.size(); ++i) {
            const std::int64_t cx = (kCoords[i][0] + kPatch / 2) / d;
            const std::int64_t cy = (kCoords[i][1] + kPatch / 2) / d;
            QCOMPARE(rgbaAt(png, cx, cy), opaque(colourOf(i)));
            // The square's corners are its own; the pixels just outside are not (no neighbours there).
            QCOMPARE(rgbaAt(png, kCoords[i][0] / d, kCoords[i][1] / d), opaque(colourOf(i)));
            QCOMPARE(rgbaAt(png, (kCoords[i][0] + kPatch) / d - 1, (kCoords[i][1] + kPatch) / d - 1), opaque(colourOf(i)));
        }
        QCOMPARE(rgbaAt(png, (512 + kPatch) / d, (256 + 128) / d)[3], 0); // right of patch 2
        QCOMPARE(rgbaAt(png, 512 / d - 1, (256 + 128) / d)[3], 0);        // left of patch 2
        QCOMPARE(rgbaAt(png, (512 + 128) / d, (256 + kPatch) / d)[3], 0); // under patch 2
        QCOMPARE(rgbaAt(png, (1536 + 128) / d, (1024 + 128) / d)[3], 0);  // no patch there
        QCOMPARE(rgbaAt(png, png.cols - 1, png.rows - 1), (std::array<int, 4>{0, 0, 0, 0}));

        // Over white, another map, min-max: patch 1 (the highest) is the map's last colour.
        options.whiteBackground = true;
        options.colormap = "Turbo";
        options.normalisation = ScoreNormalisation::MinMax;
        const fs::path white = m_dir / ("white-" + std::to_string(d) + ".png");
        writeWholeSlideHeatmap(*slide, kCoords, kPatch, kScores, options, white);
        const cv::Mat whitePng = cv::imread(white.string(), cv::IMREAD_UNCHANGED);
        QCOMPARE(rgbaAt(whitePng, (256 + 128) / d, 128 / d), opaque(colormapTable("turbo").rgb.back()));
        QCOMPARE(rgbaAt(whitePng, (512 + 128) / d, 384 / d), opaque(colormapTable("turbo").rgb.front()));
        QCOMPARE(rgbaAt(whitePng, (1536 + 128) / d, (1024 + 128) / d), (std::array<int, 4>{255, 255, 255, 255}));

        // Over the slide at opacity 0.5: the slide itself where there is no patch.
        WholeSlideHeatmapOptions overlay;
        overlay.downsample = downsample;
        overlay.overlay = true;
        const fs::path over = m_dir / ("overlay-" + std::to_string(d) + ".png");
        writeWholeSlideHeatmap(*slide, kCoords, kPatch, kScores, overlay, over);
        const cv::Mat overPng = cv::imread(over.string(), cv::IMREAD_UNCHANGED);
        for (std::size_t i = 0; i < kCoords.size(); ++i)
            QCOMPARE(rgbaAt(overPng, (kCoords[i][0] + kPatch / 2) / d, (kCoords[i][1] + kPatch / 2) / d), blended(colourOf(i)));
        QCOMPARE(rgbaAt(overPng, (1536 + 128) / d, (1024 + 128) / d), (std::array<int, 4>{kSlideRgb[0], kSlideRgb[1], kSlideRgb[2], 255}));
    }

    void theTiffOpensWithOpenSlide_data()
    {
        QTest::addColumn<double>("downsample");
        QTest::addColumn<int>("levels");
        QTest::newRow("4") << 4.0 << 3;   // 1500 x 1200, 750 x 600, 375 x 300
        QTest::newRow("16") << 16.0 << 1; // 375 x 300
    }

    void theTiffOpensWithOpenSlide()
    {
        QFETCH(double, downsample);
        QFETCH(int, levels);
        const auto d = static_cast<std::int64_t>(downsample);
        const auto slide = slide::SlideSource::open(m_svs);
        WholeSlideHeatmapOptions options;
        options.downsample = downsample;
        options.threads = 2;
        const fs::path tif = m_dir / ("heatmap-" + std::to_string(d) + ".tif");
        const WholeSlideHeatmapImage image = writeWholeSlideHeatmap(*slide, kCoords, kPatch, kScores, options, tif);
        QCOMPARE(image.levels, levels);
        QVERIFY(!fs::exists(tif.string() + ".partial"));
        for (const auto &entry : fs::directory_iterator(m_dir))
            QVERIFY2(entry.path().extension() != ".raw", entry.path().c_str()); // the levels' temporary files are gone

        const auto heatmap = slide::SlideSource::open(tif);
        QCOMPARE(QString::fromStdString(heatmap->backendName()), QStringLiteral("openslide"));
        QCOMPARE(QString::fromStdString(heatmap->metadata().vendor), QStringLiteral("generic-tiff"));
        QCOMPARE(heatmap->levelCount(), levels);
        QCOMPARE(heatmap->level(0).width, (6000 + d - 1) / d);
        QCOMPARE(heatmap->level(0).height, 4800 / d);
        for (int level = 1; level < levels; ++level)
            QCOMPARE(heatmap->level(level).downsample, heatmap->level(level - 1).downsample * 2.0);
        // The pixel size as TIFF resolution tags (OpenSlide 3.4 reports no mpp for a generic TIFF;
        // QuPath and OpenSlide 4 read these): 0.5 µm x downsample.
        const std::map<std::string, std::string> &properties = heatmap->metadata().properties;
        QCOMPARE(QString::fromStdString(properties.at("tiff.ResolutionUnit")), QStringLiteral("centimeter"));
        QCOMPARE(std::stod(properties.at("tiff.XResolution")), 10000.0 / (0.5 * downsample));
        QCOMPARE(std::stod(properties.at("tiff.YResolution")), 10000.0 / (0.5 * downsample));

        for (std::size_t i = 0; i < kCoords.size(); ++i) {
            const std::int64_t cx = (kCoords[i][0] + kPatch / 2) / d;
            const std::int64_t cy = (kCoords[i][1] + kPatch / 2) / d;
            const slide::RgbaImage pixel = heatmap->readRegion(0, cx, cy, 1, 1);
            QVERIFY2(near(pixel.pixel(0, 0), colourOf(i), 8), qPrintable(QStringLiteral("patch %1").arg(i)));
        }
        const slide::RgbaImage empty = heatmap->readRegion(0, (1536 + 128) / d, (1024 + 128) / d, 1, 1);
        QVERIFY(near(empty.pixel(0, 0), {255, 255, 255}, 4)); // a TIFF has no alpha: over white
        if (levels > 1) {                                     // the reduced levels hold the same picture
            const slide::RgbaImage coarse = heatmap->readRegion(2, (1024 + 128) / d, (1024 + 128) / d, 1, 1);
            QVERIFY(near(coarse.pixel(0, 0), colourOf(3), 8));
        }
    }

    void attentionAsStoredIsDrawnAsTheViewerDrawsIt()
    {
        const auto slide = slide::SlideSource::open(m_plain);
        SlideAttention attention;
        attention.coords = kCoords;
        attention.attentionRaw = kScores;
        attention.attention = {0.9f, 0.05f, 0.03f, 0.02f};          // not what is drawn: the raw scores are
        QCOMPARE(attentionPatchSize(attention), std::int64_t{256}); // the smallest step between corners
        attention.patchSizeLevel0 = kPatch;
        WholeSlideHeatmapOptions options;
        options.downsample = 8;
        const fs::path path = m_dir / "attention.png";
        writeWholeSlideHeatmap(*slide, attention, options, path);
        const cv::Mat png = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
        for (std::size_t i = 0; i < kCoords.size(); ++i)
            QCOMPARE(rgbaAt(png, (kCoords[i][0] + 128) / 8, (kCoords[i][1] + 128) / 8), opaque(colourOf(i)));

        const fs::path legend = m_dir / "legend.png";
        writeHeatmapLegend(legend, options);
        const cv::Mat legendPng = cv::imread(legend.string(), cv::IMREAD_COLOR);
        QVERIFY(legendPng.cols >= 256 && legendPng.rows >= 40);
    }

    void theInstanceViewIsAClassProbability()
    {
        const auto slide = slide::SlideSource::open(m_plain);
        SlideAttention attention;
        attention.slideId = "s";
        attention.coords = kCoords;
        attention.attentionRaw = kScores;
        attention.attention = kScores;
        attention.patchSizeLevel0 = kPatch;
        attention.probabilities = {0.3, 0.7};
        attention.classNames = {"normal", "tumor"};
        QCOMPARE(errorOf([&] {
                     slideScores(attention, {true, -1});
                 }),
                 QStringLiteral("Slide 's' has no instance scores (predict it again with a model that has them)"));
        attention.instanceScores = {0.9f, 0.1f, 0.2f, 0.8f, 0.6f, 0.4f, -0.5f, 1.5f}; // N x C
        const SlideScores tumour = slideScores(attention, {true, -1});
        QCOMPARE(tumour.scores, (std::vector<float>{0.1f, 0.8f, 0.4f, 1.5f}));
        QCOMPARE(QString::fromStdString(tumour.what), QStringLiteral("probability of tumor"));
        QCOMPARE(slideScores(attention, {true, 0}).scores, (std::vector<float>{0.9f, 0.2f, 0.6f, -0.5f}));
        QCOMPARE(QString::fromStdString(slideScores(attention).what), QStringLiteral("attention"));
        QCOMPARE(errorOf([&] { slideScores(attention, {true, 2}); }), QStringLiteral("Slide 's' has no class 2 (2 classes)"));

        // Probabilities are drawn as they are (clamped), as the viewer's instance view draws them.
        WholeSlideHeatmapOptions options;
        options.downsample = 8;
        options.normalisation = ScoreNormalisation::Probability;
        const fs::path path = m_dir / "instance.png";
        writeWholeSlideHeatmap(*slide, attention, options, path, {true, -1});
        const cv::Mat png = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
        const ColormapTable &viridis = colormapTable("viridis");
        const std::vector<double> expected{0.1, 0.8, 0.4, 1.0};
        for (std::size_t i = 0; i < kCoords.size(); ++i)
            QCOMPARE(rgbaAt(png, (kCoords[i][0] + 128) / 8, (kCoords[i][1] + 128) / 8), opaque(viridis.at(expected[i])));
    }

    void errorsAreOneSentence()
    {
        const auto slide = slide::SlideSource::open(m_plain);
        WholeSlideHeatmapOptions options;
        const fs::path path = m_dir / "bad.png";
        const std::string prefix = "Cannot write the heatmap '" + path.string() + "': ";
        std::vector<float> fewer = kScores;
        fewer.pop_back();
        QCOMPARE(errorOf([&] { writeWholeSlideHeatmap(*slide, kCoords, kPatch, fewer, options, path); }),
                 QString::fromStdString(prefix + "there are 3 scores for 4 patches"));
        options.colormap = "rainbow";
        QCOMPARE(errorOf([&] { writeWholeSlideHeatmap(*slide, kCoords, kPatch, kScores, options, path); }),
                 QString::fromStdString(prefix + "Unknown colormap 'rainbow' (known: viridis, turbo, jet, coolwarm)"));
        options = {};
        options.downsample = 0.5;
        QCOMPARE(errorOf([&] { writeWholeSlideHeatmap(*slide, kCoords, kPatch, kScores, options, path); }),
                 QString::fromStdString(prefix + "the downsample 0.5 is not from 1 to 65536"));
        options = {};
        const fs::path jpeg = m_dir / "bad.jpg";
        QCOMPARE(
            errorOf([&] { writeWholeSlideHeatmap(*slide, kCoords, kPatch, kScores, options, jpeg); }),
            QString::fromStdString("Cannot write the heatmap '" + jpeg.string() + "': the file name does not end in .png, .tif or .tiff"));
        QVERIFY(!fs::exists(path));
        QVERIFY(!fs::exists(jpeg));
    }
};

QTEST_GUILESS_MAIN(TstWholeSlideHeatmap)
#include "tst_wholeslideheatmap.moc"
