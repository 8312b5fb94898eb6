// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/slidetestsupport.h"

#include "slide/slideerror.h"
#include "slide/io/slidesource.h"
#include "slide/synthetic/syntheticslidewriter.h"
#include "slide/tissue/tissuedetector.h"
#include "slide/tissue/tissuegeojson.h"
#include "slide/synthetic/tissuephantom.h"

#include <QtTest>

#include <QElapsedTimer>
#include <QImage>
#include <QPainter>
#include <QPainterPath>
#include <QTransform>

#include <algorithm>
#include <array>
#include <string_view>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace icmil::slide;
namespace fs = std::filesystem;

namespace {

SyntheticSlideConfig phantomConfig(std::uint64_t seed, bool positive)
{
    SyntheticSlideConfig config;
    config.width = 8000;
    config.height = 6000;
    config.seed = seed;
    config.positive = positive;
    config.threads = 2;
    config.slideId = "tissue-" + std::to_string(seed);
    return config;
}

// The phantom's truth on the detector's 500 x 375 grid (mask pixel centres): tissue as the
// phantom defines it (holes cut out), and the signed distance to the nearest tissue outline
// (PolarBlob::field: positive inside, roughly level-0 pixels), holes ignored.
struct PhantomTruth {
    int width = 0;
    int height = 0;
    double downsample = 16.0;
    std::vector<std::uint8_t> tissue;
    std::vector<float> outline;
};

PhantomTruth phantomTruth(const SyntheticSlideConfig &config, int width, int height, double downsample)
{
    const TissuePhantom phantom(config);
    PhantomTruth truth{width, height, downsample, {}, {}};
    truth.tissue.resize(static_cast<std::size_t>(width * height));
    truth.outline.resize(truth.tissue.size());
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            const double px = (x + 0.5) * downsample, py = (y + 0.5) * downsample;
            const std::size_t i = static_cast<std::size_t>(y * width + x);
            truth.tissue[i] = phantom.fieldsAt(px, py).tissue > 0.0f ? 1 : 0;
            double field = -1e9;
            for (const PolarBlob &blob : phantom.tissueBlobs())
                field = std::max(field, blob.field(px, py));
            truth.outline[i] = static_cast<float>(field);
        }
    }
    return truth;
}

struct Agreement {
    double recall = 0.0;
    double precision = 0.0;
    double outlinePrecision = 0.0; // against the tissue outlines with the holes filled in
    double farthestOutside = 0.0;  // level-0 pixels from the nearest outline to the farthest detected pixel outside it
    std::int64_t truthPixels = 0;
};

Agreement compare(const TissueMap &map, const PhantomTruth &truth)
{
    std::int64_t tissue = 0, detected = 0, both = 0, withinOutline = 0;
    Agreement agreement;
    for (std::size_t i = 0; i < truth.tissue.size(); ++i) {
        const bool found = map.mask()[i] != 0;
        tissue += truth.tissue[i];
        detected += found ? 1 : 0;
        both += found && truth.tissue[i] ? 1 : 0;
        withinOutline += found && truth.outline[i] > 0.0f ? 1 : 0;
        if (found)
            agreement.farthestOutside = std::max(agreement.farthestOutside, -static_cast<double>(truth.outline[i]));
    }
    agreement.truthPixels = tissue;
    agreement.recall = tissue > 0 ? static_cast<double>(both) / static_cast<double>(tissue) : 1.0;
    agreement.precision = detected > 0 ? static_cast<double>(both) / static_cast<double>(detected) : 1.0;
    agreement.outlinePrecision = detected > 0 ? static_cast<double>(withinOutline) / static_cast<double>(detected) : 1.0;
    return agreement;
}

std::uint8_t maskAt(const TissueMap &map, int x, int y)
{
    return map.mask()[static_cast<std::size_t>(y) * static_cast<std::size_t>(map.maskWidth()) + static_cast<std::size_t>(x)];
}

// Metadata of an imaginary slide with these level sizes (downsample from the widths).
SlideMetadata levels(const std::vector<std::pair<std::int64_t, std::int64_t>> &sizes)
{
    SlideMetadata metadata;
    for (const auto &[width, height] : sizes)
        metadata.levels.push_back({width, height, static_cast<double>(sizes.front().first) / static_cast<double>(width)});
    return metadata;
}

// A small scan as a scanner hands it out: one tiled, JPEG-compressed TIFF level (256-px tiles),
// with an Aperio description when mpp or the objective power is known (MPP, AppMag; each only
// when > 0), else a generic TIFF without resolution.
bool writeScan(const fs::path &path, const QImage &image, double mpp, double objective = 20.0)
{
    TIFF *tiff = TIFFOpen(path.c_str(), "w");
    if (tiff == nullptr)
        return false;
    const int width = image.width(), height = image.height(), tile = 256;
    TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, width);
    TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, height);
    TIFFSetField(tiff, TIFFTAG_TILEWIDTH, tile);
    TIFFSetField(tiff, TIFFTAG_TILELENGTH, tile);
    TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tiff, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
    TIFFSetField(tiff, TIFFTAG_JPEGQUALITY, 85);
    TIFFSetField(tiff, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    if (mpp > 0.0 || objective > 0.0) {
        const std::string description = "Aperio Image Library v12.0.15 \n" + std::to_string(width) + "x" + std::to_string(height)
            + " (256x256) JPEG/RGB Q=85" + (objective > 0.0 ? "|AppMag = " + std::to_string(static_cast<int>(objective)) : "")
            + (mpp > 0.0 ? "|MPP = " + std::to_string(mpp) : "");
        TIFFSetField(tiff, TIFFTAG_IMAGEDESCRIPTION, description.c_str());
    }
    std::vector<std::uint8_t> buffer(static_cast<std::size_t>(tile * tile * 3));
    const QRgb edge = image.pixel(0, 0);
    for (int ty = 0; ty < height; ty += tile) {
        for (int tx = 0; tx < width; tx += tile) {
            for (int y = 0; y < tile; ++y) {
                for (int x = 0; x < tile; ++x) {
                    const QRgb c = (tx + x < width && ty + y < height) ? image.pixel(tx + x, ty + y) : edge;
                    std::uint8_t *p = &buffer[static_cast<std::size_t>((y * tile + x) * 3)];
                    p[0] = static_cast<std::uint8_t>(qRed(c));
                    p[1] = static_cast<std::uint8_t>(qGreen(c));
                    p[2] = static_cast<std::uint8_t>(qBlue(c));
                }
            }
            if (TIFFWriteTile(tiff, buffer.data(), static_cast<std::uint32_t>(tx), static_cast<std::uint32_t>(ty), 0, 0) < 0) {
                TIFFClose(tiff);
                return false;
            }
        }
    }
    TIFFClose(tiff);
    return true;
}

// A painted scan and where its tissue is.
struct Scan {
    QImage image;
    QImage truth; // Grayscale8, 255 where tissue
};

// H&E-like tissue in `shapes` over glass of colour `glass`: eosin `stroma` with haematoxylin
// nuclei (`nucleus`) scattered at about one per 150 px^2, per-pixel noise everywhere.
Scan paintScan(int width, int height, QColor glass, const std::vector<QPainterPath> &shapes, QColor stroma, QColor nucleus,
               std::uint32_t seed)
{
    Scan scan{QImage(width, height, QImage::Format_RGB32), QImage(width, height, QImage::Format_Grayscale8)};
    scan.image.fill(glass);
    scan.truth.fill(0);
    QPainterPath tissue;
    for (const QPainterPath &shape : shapes)
        tissue = tissue.united(shape);
    {
        QPainter truth(&scan.truth);
        truth.setPen(Qt::NoPen);
        truth.setBrush(Qt::white);
        truth.drawPath(tissue);
        QPainter painter(&scan.image);
        painter.setPen(Qt::NoPen);
        painter.setBrush(stroma);
        painter.drawPath(tissue);
        painter.setClipPath(tissue);
        painter.setBrush(nucleus);
        std::mt19937 random(seed);
        const QRectF box = tissue.boundingRect();
        const auto nuclei = static_cast<int>(box.width() * box.height() / 150.0);
        std::uniform_real_distribution<double> ux(box.left(), box.right()), uy(box.top(), box.bottom()), radius(2.0, 4.5);
        for (int i = 0; i < nuclei; ++i)
            painter.drawEllipse(QPointF(ux(random), uy(random)), radius(random), radius(random));
    }
    std::mt19937 random(seed + 1);
    for (int y = 0; y < height; ++y) {
        auto *line = reinterpret_cast<QRgb *>(scan.image.scanLine(y));
        for (int x = 0; x < width; ++x) {
            const auto bits = random();
            auto noisy = [bits](int value, int shift) { return std::clamp(value + static_cast<int>((bits >> shift) % 5u) - 2, 0, 255); };
            line[x] = qRgb(noisy(qRed(line[x]), 0), noisy(qGreen(line[x]), 4), noisy(qBlue(line[x]), 8));
        }
    }
    return scan;
}

QPainterPath ellipse(double cx, double cy, double rx, double ry, double degrees)
{
    QPainterPath path;
    path.addEllipse(QPointF(0, 0), rx, ry);
    QTransform transform;
    transform.translate(cx, cy);
    transform.rotate(degrees);
    return transform.map(path);
}

// A needle core: a strip `width` px wide from (x0, y0) to (x1, y1) with rounded ends.
QPainterPath core(double x0, double y0, double x1, double y1, double width)
{
    QPainterPath line;
    line.moveTo(x0, y0);
    line.lineTo(x1, y1);
    QPainterPathStroker stroker;
    stroker.setWidth(width);
    stroker.setCapStyle(Qt::RoundCap);
    return stroker.createStroke(line);
}

// Recall and precision of a map against a painted truth, on the mask's pixel centres.
std::pair<double, double> recallPrecision(const TissueMap &map, const QImage &truth)
{
    std::int64_t tissue = 0, detected = 0, both = 0;
    for (int y = 0; y < map.maskHeight(); ++y) {
        const int ty = std::min(truth.height() - 1, static_cast<int>((y + 0.5) * map.downsampleY()));
        const std::uint8_t *row = truth.constScanLine(ty);
        for (int x = 0; x < map.maskWidth(); ++x) {
            const int tx = std::min(truth.width() - 1, static_cast<int>((x + 0.5) * map.downsampleX()));
            const bool isTissue = row[tx] > 127;
            const bool found = maskAt(map, x, y) != 0;
            tissue += isTissue ? 1 : 0;
            detected += found ? 1 : 0;
            both += isTissue && found ? 1 : 0;
        }
    }
    return {tissue > 0 ? static_cast<double>(both) / static_cast<double>(tissue) : 1.0,
            detected > 0 ? static_cast<double>(both) / static_cast<double>(detected) : 1.0};
}

} // namespace

class TstTissueDetector : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void presetsMatchClam();
    void invalidSettingsAreRejected();
    void saturationIsOpenCvs();
    void medianAboveIsMedianThenThreshold();
    void planPicksLevelAndBoundsPixels();
    void phantomTissueIsFound_data();
    void phantomTissueIsFound();
    void chunkedReductionFindsTheSameTissue();
    void blankSlideHasNoTissue();
    void plainImageWithReduction();
    void smallScansAreFoundWithDefaults_data();
    void smallScansAreFoundWithDefaults();
    void areasArePhysicalAndCapped();

private:
    fs::path m_scratch;
    std::map<std::uint64_t, fs::path> m_phantoms;   // seed -> slide
    std::map<std::uint64_t, PhantomTruth> m_truths; // seed -> truth on the 500 x 375 mask grid
};

void TstTissueDetector::initTestCase()
{
    m_scratch = icmil::test::scratchDir("tst_tissuedetector");
    for (const auto &[seed, positive] : {std::pair<std::uint64_t, bool>{31, true}, {32, false}, {33, true}}) {
        const std::string stem = "phantom-" + std::to_string(seed);
        const fs::path slide = m_scratch / (stem + ".svs");
        QElapsedTimer timer;
        timer.start();
        // Always written afresh: the ground truth below comes from the phantom code of this build.
        SyntheticSlideWriter(phantomConfig(seed, positive)).write(slide, m_scratch / (stem + "_mask.png"), m_scratch / (stem + ".geojson"));
        qInfo("%s written in %lld ms", slide.filename().c_str(), static_cast<long long>(timer.elapsed()));
        m_phantoms[seed] = slide;
        m_truths[seed] = phantomTruth(phantomConfig(seed, positive), 500, 375, 16.0);
    }
}

void TstTissueDetector::presetsMatchClam()
{
    const TissueDetectionParams tcga = TissueDetectionParams::preset("tcga");
    QCOMPARE(tcga.saturationThreshold, 8);
    QCOMPARE(tcga.medianKernel, 7);
    QCOMPARE(tcga.closeKernel, 4);
    QCOMPARE(tcga.useOtsu, false);
    QCOMPARE(tcga.minTissueAreaMm2, 16.0 * TissueDetectionParams::kClamReferencePatchMm2); // CLAM's a_t at 0.25 um/px
    QCOMPARE(tcga.minHoleAreaMm2, 4.0 * TissueDetectionParams::kClamReferencePatchMm2);
    QCOMPARE(tcga.maxHoles, 8);
    const TissueDetectionParams biopsy = TissueDetectionParams::preset("bwh_biopsy");
    QCOMPARE(biopsy.saturationThreshold, 15);
    QCOMPARE(biopsy.medianKernel, 11);
    QCOMPARE(biopsy.closeKernel, 2);
    QCOMPARE(biopsy.minTissueAreaMm2, TissueDetectionParams::kClamReferencePatchMm2);
    QCOMPARE(biopsy.maxHoles, 2);
    const TissueDetectionParams resection = TissueDetectionParams::preset("bwh_resection");
    QCOMPARE(resection.medianKernel, 11);
    QCOMPARE(resection.minTissueAreaMm2, 100.0 * TissueDetectionParams::kClamReferencePatchMm2);
    // "default" is create_patches_fp.py's defaults, and the struct's own.
    const TissueDetectionParams defaults = TissueDetectionParams::preset("default");
    const TissueDetectionParams plain;
    QCOMPARE(defaults.saturationThreshold, plain.saturationThreshold);
    QCOMPARE(defaults.medianKernel, plain.medianKernel);
    QCOMPARE(defaults.closeKernel, plain.closeKernel);
    QCOMPARE(defaults.minTissueAreaMm2, plain.minTissueAreaMm2);
    QCOMPARE(defaults.minHoleAreaMm2, plain.minHoleAreaMm2);
    QCOMPARE(defaults.maxHoles, plain.maxHoles);
    QCOMPARE(TissueDetectionParams::kClamReferencePatchMm2, 512 * 0.25e-3 * 512 * 0.25e-3);
    QCOMPARE(TissueDetectionParams::presetNames().size(), std::size_t{4});
    try {
        TissueDetectionParams::preset("kidney");
        QFAIL("an unknown preset was accepted");
    } catch (const SlideError &error) {
        QCOMPARE(QString::fromUtf8(error.what()),
                 QStringLiteral("Unknown tissue detection preset 'kidney' (known presets: default, tcga, bwh_biopsy, bwh_resection)"));
    }
}

void TstTissueDetector::invalidSettingsAreRejected()
{
    TissueDetectionParams params;
    params.medianKernel = 6;
    try {
        params.validate();
        QFAIL("an even median kernel was accepted");
    } catch (const SlideError &error) {
        QCOMPARE(QString::fromUtf8(error.what()),
                 QStringLiteral("Invalid tissue detection settings: median kernel must be an odd number between 1 and 255 (got 6)"));
    }
    params = {};
    params.segLevel = 7;
    const std::unique_ptr<SlideSource> slide = SlideSource::open(m_phantoms.at(31));
    try {
        TissueDetector(params).detect(*slide);
        QFAIL("a missing level was accepted");
    } catch (const SlideError &error) {
        QCOMPARE(QString::fromUtf8(error.what()), QStringLiteral("Cannot detect tissue at level 7: the slide has levels 0 to 2"));
    }
}

void TstTissueDetector::saturationIsOpenCvs()
{
    QCOMPARE(TissueDetector::saturation(0, 0, 0), std::uint8_t{0});
    QCOMPARE(TissueDetector::saturation(255, 255, 255), std::uint8_t{0});
    QCOMPARE(TissueDetector::saturation(255, 0, 0), std::uint8_t{255});
    QCOMPARE(TissueDetector::saturation(242, 242, 244), std::uint8_t{2});   // the synthetic glass
    QCOMPARE(TissueDetector::saturation(200, 100, 150), std::uint8_t{127}); // 127.5: OpenCV's fixed point rounds it down
    QCOMPARE(TissueDetector::saturation(10, 9, 9), std::uint8_t{26});       // 25.5 -> 26
}

void TstTissueDetector::medianAboveIsMedianThenThreshold()
{
    // Against a brute-force median with replicated borders (cv::medianBlur's), on random bytes
    // clustered around the thresholds so the majority count is often decided by one pixel.
    const int width = 61, height = 37;
    std::minstd_rand random(3);
    std::vector<std::uint8_t> image(static_cast<std::size_t>(width * height));
    for (std::uint8_t &value : image)
        value = static_cast<std::uint8_t>(random() % 32u);
    for (int kernel : {1, 3, 7, 11}) {
        for (int threshold : {0, 8, 15, 31}) {
            const std::vector<std::uint8_t> fast = TissueDetector::medianAbove(image, width, height, kernel, threshold);
            int mismatches = 0;
            std::vector<std::uint8_t> window;
            for (int y = 0; y < height; ++y) {
                for (int x = 0; x < width; ++x) {
                    window.clear();
                    for (int dy = -kernel / 2; dy <= kernel / 2; ++dy)
                        for (int dx = -kernel / 2; dx <= kernel / 2; ++dx)
                            window.push_back(image[static_cast<std::size_t>(std::clamp(y + dy, 0, height - 1) * width
                                                                            + std::clamp(x + dx, 0, width - 1))]);
                    std::nth_element(window.begin(), window.begin() + static_cast<std::ptrdiff_t>(window.size() / 2), window.end());
                    const std::uint8_t expected = window[window.size() / 2] > threshold ? 255 : 0;
                    mismatches += fast[static_cast<std::size_t>(y * width + x)] != expected;
                }
            }
            QVERIFY2(mismatches == 0,
                     qPrintable(QStringLiteral("kernel %1 threshold %2: %3 pixels differ").arg(kernel).arg(threshold).arg(mismatches)));
        }
    }
}

void TstTissueDetector::planPicksLevelAndBoundsPixels()
{
    const TissueDetectionParams params;
    // The benchmark slide: 1563 x 1250 at downsample 64.
    TissueReadPlan plan = TissueDetector::plan(levels({{100000, 80000}, {25000, 20000}, {6250, 5000}, {1563, 1250}, {391, 313}}), params);
    QCOMPARE(plan.level, 3);
    QCOMPARE(plan.reduction, 1);
    QCOMPARE(plan.maskWidth, 1563);
    QCOMPARE(plan.maskHeight, 1250);
    // The level for 64 has 39 MP; a coarser one exists.
    plan = TissueDetector::plan(levels({{200000, 200000}, {6250, 6250}, {1563, 1563}}), params);
    QCOMPARE(plan.level, 2);
    QCOMPARE(plan.reduction, 1);
    // Only 31 MP at downsample 16 and nothing coarser: read it shrunk by 3 (2084 x 1667 = 3.5 MP).
    plan = TissueDetector::plan(levels({{100000, 80000}, {25000, 20000}, {6250, 5000}}), params);
    QCOMPARE(plan.level, 2);
    QCOMPARE(plan.reduction, 3);
    QCOMPARE(plan.maskWidth, 2084);
    QCOMPARE(plan.maskHeight, 1667);
    QVERIFY(std::int64_t{plan.maskWidth} * plan.maskHeight <= params.maxMaskPixels);
    // A single-level image.
    plan = TissueDetector::plan(levels({{4000, 3000}}), params);
    QCOMPARE(plan.level, 0);
    QCOMPARE(plan.reduction, 2);
    QCOMPARE(plan.maskWidth, 2000);
    // An explicit level is honoured.
    TissueDetectionParams explicitLevel;
    explicitLevel.segLevel = 1;
    plan = TissueDetector::plan(levels({{8000, 6000}, {2000, 1500}, {500, 375}}), explicitLevel);
    QCOMPARE(plan.level, 1);
    QCOMPARE(plan.reduction, 1);
}

void TstTissueDetector::phantomTissueIsFound_data()
{
    QTest::addColumn<quint64>("seed");
    QTest::addColumn<QString>("preset");
    for (quint64 seed : {31, 32, 33})
        for (const char *preset : {"bwh_biopsy", "tcga"})
            QTest::addRow("seed %llu, %s", static_cast<unsigned long long>(seed), preset) << seed << QString::fromLatin1(preset);
}

void TstTissueDetector::phantomTissueIsFound()
{
    QFETCH(quint64, seed);
    QFETCH(QString, preset);
    const std::unique_ptr<SlideSource> slide = SlideSource::open(m_phantoms.at(seed));
    const TissueMap map = TissueDetector(TissueDetectionParams::preset(preset.toStdString())).detect(*slide);
    // 8000 x 6000 with levels 1, 4, 16: the level for downsample 64 is level 2 (500 x 375).
    QCOMPARE(map.sourceLevel(), 2);
    QCOMPARE(map.maskWidth(), 500);
    QCOMPARE(map.maskHeight(), 375);
    QCOMPARE(map.downsampleX(), 16.0);

    const Agreement agreement = compare(map, m_truths.at(seed));
    qInfo("seed %llu %s: recall %.4f precision %.4f; against the hole-free outlines %.4f, farthest %.0f px outside "
          "(truth %lld mask pixels, %zu regions)",
          static_cast<unsigned long long>(seed), qPrintable(preset), agreement.recall, agreement.precision, agreement.outlinePrecision,
          agreement.farthestOutside, static_cast<long long>(agreement.truthPixels), map.regions().size());
    qInfo("white point %d,%d,%d", map.stats().whitePoint[0], map.stats().whitePoint[1], map.stats().whitePoint[2]);
    // Measured on seeds 31-33 (bwh_biopsy / tcga), glass white-balanced from (242, 242, 244):
    // recall 0.993 / 0.997, precision 0.969-0.977 / 0.963-0.967, outline precision 0.983 / 0.977,
    // farthest detected pixel 37-60 / 49-58 level-0 px outside an outline (before the white
    // balance: tcga's precision 0.937-0.940 and farthest 95-112 px). What precision loses is
    // small holes filled on purpose (below a_h) and a band of 1-7 mask pixels outside the
    // outlines: JPEG chroma bleeding at the downsample-16 level lifts the saturation over sthresh
    // there, and the closing kernel smooths across it. Thresholds leave ~3-6 points of margin.
    QVERIFY(agreement.truthPixels > 10000);
    QVERIFY2(agreement.recall >= 0.98, qPrintable(QStringLiteral("recall %1").arg(agreement.recall)));
    QVERIFY2(agreement.precision >= 0.90, qPrintable(QStringLiteral("precision %1").arg(agreement.precision)));
    QVERIFY2(agreement.outlinePrecision >= 0.93, qPrintable(QStringLiteral("outline precision %1").arg(agreement.outlinePrecision)));
    // Nothing spurious: every detected pixel lies within 10 mask pixels (160 level-0 px) of tissue.
    QVERIFY2(agreement.farthestOutside <= 160.0, qPrintable(QStringLiteral("%1 px outside").arg(agreement.farthestOutside)));
    // Blobs may touch and merge, never split: at most one region per blob.
    QVERIFY(!map.regions().empty());
    QVERIFY(map.regions().size() <= TissuePhantom(phantomConfig(seed, seed != 32)).tissueBlobs().size());
}

void TstTissueDetector::chunkedReductionFindsTheSameTissue()
{
    // Level 1 (2000 x 1500) with a 0.8 MP budget: read in 4096 x 256 chunks on two threads and
    // shrunk by 2 while reading, giving a 1000 x 750 mask (downsample 8).
    const std::unique_ptr<SlideSource> slide = SlideSource::open(m_phantoms.at(31));
    TissueDetectionParams params = TissueDetectionParams::preset("bwh_biopsy");
    params.segLevel = 1;
    params.maxMaskPixels = 800000;
    params.threads = 2;
    const TissueMap map = TissueDetector(params).detect(*slide);
    QCOMPARE(map.sourceLevel(), 1);
    QCOMPARE(map.maskWidth(), 1000);
    QCOMPARE(map.maskHeight(), 750);
    QCOMPARE(map.downsampleX(), 8.0);
    const Agreement agreement = compare(map, phantomTruth(phantomConfig(31, true), 1000, 750, 8.0));
    qInfo("seed 31 bwh_biopsy, level 1 shrunk by 2: recall %.4f precision %.4f; outlines %.4f, farthest %.0f px outside", agreement.recall,
          agreement.precision, agreement.outlinePrecision, agreement.farthestOutside);
    QVERIFY(agreement.recall >= 0.98);
    QVERIFY(agreement.precision >= 0.90);
    QVERIFY(agreement.outlinePrecision >= 0.93);
    QVERIFY(agreement.farthestOutside <= 160.0);
}

void TstTissueDetector::blankSlideHasNoTissue()
{
    // Bare glass: the synthetic slides' glass colour with per-channel noise.
    QImage glass(2400, 1600, QImage::Format_RGB32);
    std::minstd_rand random(7);
    for (int y = 0; y < glass.height(); ++y) {
        auto *line = reinterpret_cast<QRgb *>(glass.scanLine(y));
        for (int x = 0; x < glass.width(); ++x) {
            const auto bits = random();
            auto noise = [bits](int shift) { return static_cast<int>((bits >> shift) % 5u) - 2; };
            line[x] = qRgb(242 + noise(0), 242 + noise(4), 244 + noise(8));
        }
    }
    const fs::path path = m_scratch / "glass.png";
    QVERIFY(glass.save(QString::fromStdString(path.string()), "PNG", 80)); // light compression: noise packs slowly
    const std::unique_ptr<SlideSource> slide = SlideSource::open(path);
    for (const std::string &preset : TissueDetectionParams::presetNames()) {
        const TissueMap map = TissueDetector(TissueDetectionParams::preset(preset)).detect(*slide);
        QVERIFY(map.isEmpty());
        QVERIFY(map.regions().empty());
        QCOMPARE(map.tissueFraction(), 0.0);
        QCOMPARE(map.maskWidth(), 2400);
    }
    TissueDetectionParams otsu;
    otsu.useOtsu = true; // Otsu alone would split the glass along its noise; the floor prevents it
    QVERIFY(TissueDetector(otsu).detect(*slide).isEmpty());
    const TissueMap empty = TissueDetector().detect(*slide);
    QCOMPARE(QString::fromStdString(TissueGeoJson::format(empty)), QStringLiteral("{\"type\":\"FeatureCollection\",\"features\":[]}\n"));
}

void TstTissueDetector::plainImageWithReduction()
{
    // A 4000 x 3000 PNG (12 MP, more than maxMaskPixels): a pink ellipse with a white hole.
    QImage image(4000, 3000, QImage::Format_RGB32);
    image.fill(qRgb(245, 245, 245));
    {
        QPainter painter(&image);
        painter.setPen(Qt::NoPen);
        painter.setBrush(QColor(200, 120, 170));
        painter.drawEllipse(QPointF(2000, 1500), 1500, 1000);
        painter.setBrush(QColor(245, 245, 245));
        painter.drawEllipse(QPointF(2300, 1500), 400, 300);
    }
    const fs::path path = m_scratch / "ellipse.png";
    QVERIFY(image.save(QString::fromStdString(path.string()), "PNG", 80));
    const std::unique_ptr<SlideSource> slide = SlideSource::open(path);
    QCOMPARE(slide->backendName(), std::string("image"));

    // bwh_biopsy: a_t = a_h = 1 reference patch (512^2 = 262144 level-0 pixels); the hole has 377000.
    const TissueDetectionParams params = TissueDetectionParams::preset("bwh_biopsy");
    const TissueMap map = TissueDetector(params).detect(*slide);
    QCOMPARE(map.sourceLevel(), 0);
    QCOMPARE(map.maskWidth(), 2000); // shrunk by 2 while reading
    QCOMPARE(map.maskHeight(), 1500);
    QCOMPARE(map.downsampleX(), 2.0);
    QCOMPARE(map.regions().size(), std::size_t{1});
    QCOMPARE(map.regions()[0].holes.size(), std::size_t{1});

    std::int64_t truth = 0, detected = 0, both = 0;
    for (int y = 0; y < map.maskHeight(); ++y) {
        for (int x = 0; x < map.maskWidth(); ++x) {
            const double px = (x + 0.5) * 2.0, py = (y + 0.5) * 2.0;
            const double outer = std::pow((px - 2000) / 1500, 2) + std::pow((py - 1500) / 1000, 2);
            const double hole = std::pow((px - 2300) / 400, 2) + std::pow((py - 1500) / 300, 2);
            const bool isTissue = outer <= 1.0 && hole > 1.0;
            const bool found = maskAt(map, x, y) != 0;
            truth += isTissue;
            detected += found;
            both += isTissue && found;
        }
    }
    const double recall = static_cast<double>(both) / static_cast<double>(truth);
    const double precision = static_cast<double>(both) / static_cast<double>(detected);
    qInfo("ellipse: recall %.4f precision %.4f", recall, precision);
    QVERIFY(recall >= 0.99);
    QVERIFY(precision >= 0.99);
    // The region's polygon area matches the analytic area (ellipse minus hole) within 1%.
    const double area = M_PI * (1500.0 * 1000.0 - 400.0 * 300.0);
    QVERIFY2(std::abs(map.regions()[0].areaPixels / area - 1.0) < 0.01, qPrintable(QString::number(map.regions()[0].areaPixels)));
}

void TstTissueDetector::smallScansAreFoundWithDefaults_data()
{
    // Biopsies, needle cores and crops as scanners write them: single-level tiled TIFFs of a few
    // mm, pale or tinted. CLAM's area filter (100 reference patches of 512 px) dropped all of it.
    QTest::addColumn<QString>("name");
    QTest::addColumn<double>("mpp");
    QTest::addColumn<QString>("mppSource");
    QTest::addColumn<double>("objective");
    QTest::addColumn<bool>("whiteBalanced");
    for (const char *name : {"biopsy", "needle cores", "pale stain", "bluish glass", "yellowish glass"})
        QTest::addRow("%s", name) << QString::fromLatin1(name) << 0.499 << QStringLiteral("slide") << 20.0
                                  << (std::string_view(name).ends_with("glass"));
    QTest::addRow("crop, objective power only") << QStringLiteral("crop") << 0.0 << QStringLiteral("objective power") << 20.0 << false;
    QTest::addRow("crop without mpp or objective") << QStringLiteral("crop") << 0.0 << QStringLiteral("assumed") << 0.0 << false;
}

void TstTissueDetector::smallScansAreFoundWithDefaults()
{
    QFETCH(QString, name);
    QFETCH(double, mpp);
    QFETCH(QString, mppSource);
    QFETCH(double, objective);
    QFETCH(bool, whiteBalanced);
    const QColor white(246, 246, 246), stroma(228, 168, 206), nucleus(120, 72, 160);
    Scan scan;
    if (name == QLatin1String("biopsy")) // the real case: 2220 x 2967 at 0.499 um/px, ~40% tissue in fragments
        scan = paintScan(2220, 2967, white,
                         {ellipse(800, 900, 520, 330, 25), ellipse(1450, 1250, 420, 260, -40), ellipse(900, 1900, 600, 300, 70),
                          ellipse(1550, 2400, 300, 200, 10), ellipse(420, 2600, 180, 120, 0)},
                         stroma, nucleus, 1);
    else if (name == QLatin1String("needle cores")) // three cores 0.13 mm wide and a fragment, 3 x 1.2 mm
        scan = paintScan(6000, 2400, white,
                         {core(400, 500, 5600, 420, 260), core(300, 1150, 5200, 1260, 260), core(700, 1900, 4000, 1850, 240),
                          ellipse(5000, 1900, 200, 140, 30)},
                         stroma, nucleus, 2);
    else if (name == QLatin1String("pale stain"))
        scan = paintScan(3000, 2400, white, {ellipse(1100, 1100, 700, 500, 15), ellipse(2200, 1500, 500, 600, -20)}, QColor(240, 222, 233),
                         QColor(196, 172, 214), 3);
    else if (name == QLatin1String("bluish glass"))
        scan = paintScan(3000, 2400, QColor(222, 232, 247), {ellipse(1100, 1100, 700, 500, 15), ellipse(2200, 1500, 500, 600, -20)},
                         QColor(206, 160, 200), QColor(110, 70, 160), 4);
    else if (name == QLatin1String("yellowish glass"))
        scan = paintScan(3000, 2400, QColor(247, 240, 222), {ellipse(1100, 1100, 700, 500, 15), ellipse(2200, 1500, 500, 600, -20)}, stroma,
                         nucleus, 5);
    else // a 4443 x 3567 crop, 64% tissue running off its edges, no mpp
        scan = paintScan(4443, 3567, white,
                         {ellipse(1300, 1200, 1500, 1100, 20), ellipse(3400, 2500, 1400, 1300, -30), ellipse(700, 3200, 900, 600, 0)},
                         stroma, nucleus, 6);

    const fs::path path = m_scratch
        / (QString::fromLatin1(QTest::currentDataTag()).replace(QLatin1Char(' '), QLatin1Char('_')).remove(QLatin1Char(',')).toStdString()
           + ".tif");
    QVERIFY(writeScan(path, scan.image, mpp, objective));
    const std::unique_ptr<SlideSource> slide = SlideSource::open(path);
    const TissueMap map = TissueDetector().detect(*slide); // defaults: CLAM's "default" preset
    const auto [recall, precision] = recallPrecision(map, scan.truth);
    const TissueDetectionStats &stats = map.stats();
    qInfo("%s: %dx%d, tissue %.1f%%: recall %.4f precision %.4f (mask %dx%d, mpp %.3f %s, min area %.4f mm2, white point %d,%d,%d)",
          qPrintable(name), scan.image.width(), scan.image.height(), 100.0 * map.tissueFraction(), recall, precision, map.maskWidth(),
          map.maskHeight(), stats.mppX, stats.mppSource.c_str(), stats.minTissueAreaMm2, stats.whitePoint[0], stats.whitePoint[1],
          stats.whitePoint[2]);
    QVERIFY2(recall >= 0.95, qPrintable(QStringLiteral("recall %1").arg(recall)));
    QVERIFY2(precision >= 0.90, qPrintable(QStringLiteral("precision %1").arg(precision)));
    QCOMPARE(QString::fromStdString(stats.mppSource), mppSource);
    if (mpp > 0.0)
        QVERIFY(std::abs(stats.mppX - mpp) < 1e-3);
    else if (objective > 0.0)
        QCOMPARE(stats.mppX, 10.0 / objective);
    else
        QCOMPARE(stats.mppX, TissueDetectionParams{}.assumedMpp);
    // The threshold is the slide's 1% (the preset's 1.64 mm2 is larger than these slides' tissue).
    const double slideMm2 = static_cast<double>(scan.image.width()) * scan.image.height() * stats.mppX * stats.mppY * 1e-6;
    QVERIFY(std::abs(stats.minTissueAreaMm2 - 0.01 * slideMm2) < 1e-9);
    // The white point is the glass colour, give or take noise (none for white glass).
    const QColor glass = scan.image.pixelColor(2, 2);
    if (whiteBalanced)
        for (int c = 0; c < 3; ++c)
            QVERIFY2(std::abs(stats.whitePoint[static_cast<std::size_t>(c)]
                              - std::array{glass.red(), glass.green(), glass.blue()}[static_cast<std::size_t>(c)])
                         <= 3,
                     qPrintable(QStringLiteral("white point channel %1: %2").arg(c).arg(stats.whitePoint[static_cast<std::size_t>(c)])));

    // Without the white balance, tinted glass counts as tissue.
    if (whiteBalanced) {
        TissueDetectionParams plain;
        plain.whiteBalance = false;
        const auto [plainRecall, plainPrecision] = recallPrecision(TissueDetector(plain).detect(*slide), scan.truth);
        qInfo("%s without white balance: recall %.4f precision %.4f", qPrintable(name), plainRecall, plainPrecision);
        QVERIFY(plainPrecision < 0.6);
    }
}

void TstTissueDetector::areasArePhysicalAndCapped()
{
    // One 300 x 300 px square of tissue on a 4000 x 3000 scan: 0.0225 mm2 at 0.5 um/px, 0.09 mm2
    // at 1 um/px. The cap (1% of the slide) is 0.03 mm2 at 0.5 um/px and 0.12 mm2 at 1 um/px.
    QPainterPath square;
    square.addRect(1000, 1000, 300, 300);
    const Scan scan = paintScan(4000, 3000, QColor(246, 246, 246), {square}, QColor(228, 168, 206), QColor(120, 72, 160), 9);
    const fs::path half = m_scratch / "square-0.5.tif", one = m_scratch / "square-1.0.tif";
    QVERIFY(writeScan(half, scan.image, 0.5));
    QVERIFY(writeScan(one, scan.image, 1.0, 10.0));
    const std::unique_ptr<SlideSource> atHalf = SlideSource::open(half), atOne = SlideSource::open(one);

    TissueDetectionParams params;
    params.minTissueAreaMm2 = 0.05; // under the cap at 1 um/px only
    TissueMap map = TissueDetector(params).detect(*atHalf);
    QCOMPARE(map.stats().minTissueAreaMm2, 0.03);   // capped: 1% of the slide's 3 mm2
    QVERIFY(map.isEmpty());                         // 0.0225 < 0.03
    QVERIFY(map.stats().candidateFraction > 0.005); // tissue-like pixels were there
    map = TissueDetector(params).detect(*atOne);
    QCOMPARE(map.stats().minTissueAreaMm2, 0.05); // 0.05 < 0.12: the setting itself
    QVERIFY(!map.isEmpty());                      // 0.09 > 0.05
    params.minTissueAreaMm2 = 0.02;
    QVERIFY(!TissueDetector(params).detect(*atHalf).isEmpty()); // 0.0225 > 0.02

    // A larger cap fraction lets the preset's own area through.
    params.minTissueAreaMm2 = 0.05;
    params.maxAreaFraction = 0.5;
    QCOMPARE(TissueDetector(params).detect(*atHalf).stats().minTissueAreaMm2, 0.05);
}

QTEST_GUILESS_MAIN(TstTissueDetector)
#include "tst_tissuedetector.moc"
