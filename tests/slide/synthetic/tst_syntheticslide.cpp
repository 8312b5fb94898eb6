// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/pyramidwriter.h"
#include "slide/slideerror.h"
#include "slide/synthetic/syntheticslidewriter.h"

#include <QtTest>

#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>

#include <openslide.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fcntl.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

using namespace icmil::slide;
namespace fs = std::filesystem;

namespace {

// Makes the calling thread obey file permissions while it lives, as root too (CI runs as root):
// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH leave the thread's effective capabilities (they stay
// permitted) and come back at the end. Capabilities are per thread, so only code that runs on
// this thread is affected.
class FilePermissionsObeyed {
public:
    FilePermissionsObeyed()
    {
        m_header.version = _LINUX_CAPABILITY_VERSION_3;
        m_header.pid = 0; // the calling thread
        if (::syscall(SYS_capget, &m_header, m_saved) != 0)
            return;
        __user_cap_data_struct dropped[2] = {m_saved[0], m_saved[1]};
        for (const int capability : {CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH})
            dropped[capability / 32].effective &= ~(1u << (capability % 32));
        m_dropped = ::syscall(SYS_capset, &m_header, dropped) == 0;
    }
    ~FilePermissionsObeyed()
    {
        if (m_dropped)
            ::syscall(SYS_capset, &m_header, m_saved);
    }
    FilePermissionsObeyed(const FilePermissionsObeyed &) = delete;
    FilePermissionsObeyed &operator=(const FilePermissionsObeyed &) = delete;

    bool dropped() const { return m_dropped; }

private:
    __user_cap_header_struct m_header{};
    __user_cap_data_struct m_saved[2]{};
    bool m_dropped = false;
};

struct Rgb {
    double r = 0, g = 0, b = 0;
};

// A small owner of an OpenSlide handle that fails the test on any OpenSlide error.
class OpenSlide {
public:
    explicit OpenSlide(const fs::path &path) : m_slide(openslide_open(path.c_str())) { }
    ~OpenSlide()
    {
        if (m_slide)
            openslide_close(m_slide);
    }
    OpenSlide(const OpenSlide &) = delete;
    OpenSlide &operator=(const OpenSlide &) = delete;

    bool ok() const { return m_slide && !openslide_get_error(m_slide); }
    openslide_t *get() const { return m_slide; }
    QString property(const char *name) const
    {
        const char *value = openslide_get_property_value(m_slide, name);
        return value ? QString::fromUtf8(value) : QString();
    }
    // Reads w x h pixels of `level` at level-0 position (x, y) as RGB (the slide is opaque).
    std::vector<std::uint8_t> readRgb(std::int64_t x, std::int64_t y, int level, int w, int h) const
    {
        std::vector<std::uint32_t> argb(static_cast<std::size_t>(w) * h);
        openslide_read_region(m_slide, argb.data(), x, y, level, w, h);
        std::vector<std::uint8_t> rgb(argb.size() * 3);
        for (std::size_t i = 0; i < argb.size(); ++i) {
            rgb[3 * i] = static_cast<std::uint8_t>(argb[i] >> 16);
            rgb[3 * i + 1] = static_cast<std::uint8_t>(argb[i] >> 8);
            rgb[3 * i + 2] = static_cast<std::uint8_t>(argb[i]);
        }
        return rgb;
    }

private:
    openslide_t *m_slide;
};

QByteArray fileBytes(const fs::path &path)
{
    QFile file(QString::fromStdString(path.string()));
    if (!file.open(QIODevice::ReadOnly))
        return {};
    return file.readAll();
}

bool insidePolygon(const QJsonArray &ring, double x, double y)
{
    bool inside = false;
    for (qsizetype i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
        const double xi = ring[i].toArray()[0].toDouble(), yi = ring[i].toArray()[1].toDouble();
        const double xj = ring[j].toArray()[0].toDouble(), yj = ring[j].toArray()[1].toDouble();
        if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
            inside = !inside;
    }
    return inside;
}

Rgb meanColour(const std::vector<std::uint8_t> &rgb)
{
    Rgb mean;
    const double pixels = static_cast<double>(rgb.size() / 3);
    for (std::size_t i = 0; i < rgb.size(); i += 3) {
        mean.r += rgb[i];
        mean.g += rgb[i + 1];
        mean.b += rgb[i + 2];
    }
    mean.r /= pixels;
    mean.g /= pixels;
    mean.b /= pixels;
    return mean;
}

QStringList filesIn(const fs::path &directory)
{
    return QDir(QString::fromStdString(directory.string())).entryList(QDir::Files | QDir::Hidden);
}

SyntheticSlideConfig smallConfig(std::uint64_t seed, bool positive)
{
    SyntheticSlideConfig config;
    config.width = 2048;
    config.height = 1536;
    config.seed = seed;
    config.positive = positive;
    config.threads = 2;
    config.slideId = "test-" + std::to_string(seed);
    return config;
}

} // namespace

class TstSyntheticSlide : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void levelSizesFollowTheAperioRule();
    void opensAsAperioWithMetadata();
    void levelOneIsLevelZeroAreaAveraged();
    void tumourLooksDifferentFromStroma();
    void positiveGroundTruthMatchesPolygons();
    void negativeHasNoTumour();
    void sameSeedGivesIdenticalBytes();
    void threadCountDoesNotChangeBytes();
    void differentSeedGivesDifferentSlide();
    void otherFactorTileSizeAndResolution();
    void invalidConfigIsRejected_data();
    void invalidConfigIsRejected();
    void cancelLeavesNoFiles();
    void missingDirectoryIsReported();
    void readOnlyDirectoryIsReported();
    void writeFailureLeavesNoFiles();

private:
    fs::path scratch(const std::string &name) const { return m_scratch / name; }
    SyntheticSlideResult writeSlide(const SyntheticSlideConfig &config, const std::string &stem, std::vector<double> *progress = nullptr);

    QTemporaryDir m_temporary;
    fs::path m_scratch;
    SyntheticSlideResult m_positive;
    SyntheticSlideResult m_negative;
    std::vector<double> m_progress;
};

SyntheticSlideResult TstSyntheticSlide::writeSlide(const SyntheticSlideConfig &config, const std::string &stem,
                                                   std::vector<double> *progress)
{
    SyntheticSlideWriter writer(config);
    return writer.write(scratch(stem + ".svs"), scratch(stem + "_mask.png"), scratch(stem + ".geojson"), [progress](double fraction) {
        if (progress)
            progress->push_back(fraction);
    });
}

void TstSyntheticSlide::initTestCase()
{
    const QString fromEnvironment = qEnvironmentVariable("ICMIL_TEST_SCRATCH");
    m_scratch = fromEnvironment.isEmpty() ? fs::path(m_temporary.path().toStdString()) : fs::path(fromEnvironment.toStdString());
    fs::remove_all(m_scratch);
    fs::create_directories(m_scratch);

    SyntheticSlideConfig positive = smallConfig(5, true);
    positive.width = 4096;
    positive.height = 3072;
    m_positive = writeSlide(positive, "positive", &m_progress);
    SyntheticSlideConfig negative = positive;
    negative.seed = 6;
    negative.positive = false;
    m_negative = writeSlide(negative, "negative");
}

void TstSyntheticSlide::levelSizesFollowTheAperioRule()
{
    const auto large = PyramidWriter::levelSizes(100000, 80000, 4);
    QCOMPARE(large.size(), std::size_t{5});
    const std::int64_t widths[] = {100000, 25000, 6250, 1563, 391};
    const std::int64_t heights[] = {80000, 20000, 5000, 1250, 313};
    for (std::size_t i = 0; i < large.size(); ++i) {
        QCOMPARE(large[i].width, widths[i]);
        QCOMPARE(large[i].height, heights[i]);
    }
    QCOMPARE(PyramidWriter::levelSizes(20000, 16000, 4).size(), std::size_t{4});
    QCOMPARE(PyramidWriter::levelSizes(2048, 1536, 4).size(), std::size_t{2});
    QCOMPARE(PyramidWriter::levelSizes(512, 300, 4).size(), std::size_t{1});
}

void TstSyntheticSlide::opensAsAperioWithMetadata()
{
    QCOMPARE(m_positive.levelCount, 3);
    QCOMPARE(m_positive.slidePath, scratch("positive.svs"));
    QCOMPARE(m_positive.fileBytes, static_cast<std::uint64_t>(fs::file_size(scratch("positive.svs"))));
    QVERIFY(m_positive.seconds > 0.0);

    OpenSlide slide(scratch("positive.svs"));
    QVERIFY2(slide.ok(), "OpenSlide cannot open the synthetic slide");
    QCOMPARE(slide.property(OPENSLIDE_PROPERTY_NAME_VENDOR), QStringLiteral("aperio"));
    QCOMPARE(slide.property(OPENSLIDE_PROPERTY_NAME_MPP_X).toDouble(), 0.5);
    QCOMPARE(slide.property(OPENSLIDE_PROPERTY_NAME_MPP_Y).toDouble(), 0.5);
    QCOMPARE(slide.property(OPENSLIDE_PROPERTY_NAME_OBJECTIVE_POWER).toDouble(), 20.0);
    QCOMPARE(slide.property("aperio.Filename"), QStringLiteral("test-5"));
    QCOMPARE(slide.property("aperio.Synthetic seed"), QStringLiteral("5"));

    QCOMPARE(openslide_get_level_count(slide.get()), 3);
    const std::int64_t widths[] = {4096, 1024, 256};
    const std::int64_t heights[] = {3072, 768, 192};
    const double downsamples[] = {1.0, 4.0, 16.0};
    for (int level = 0; level < 3; ++level) {
        std::int64_t w = 0, h = 0;
        openslide_get_level_dimensions(slide.get(), level, &w, &h);
        QCOMPARE(w, widths[level]);
        QCOMPARE(h, heights[level]);
        QCOMPARE(openslide_get_level_downsample(slide.get(), level), downsamples[level]);
    }
    const QByteArray tile = QByteArray::number(256);
    QCOMPARE(slide.property("openslide.level[0].tile-width").toUtf8(), tile);

    QStringList associated;
    for (const char *const *name = openslide_get_associated_image_names(slide.get()); *name; ++name)
        associated << QString::fromUtf8(*name);
    associated.sort();
    QCOMPARE(associated, (QStringList{QStringLiteral("label"), QStringLiteral("macro"), QStringLiteral("thumbnail")}));
    std::int64_t w = 0, h = 0;
    openslide_get_associated_image_dimensions(slide.get(), "thumbnail", &w, &h);
    QCOMPARE(w, std::int64_t{1024});
    QCOMPARE(h, std::int64_t{768});
    std::vector<std::uint32_t> thumbnail(static_cast<std::size_t>(w * h));
    openslide_read_associated_image(slide.get(), "thumbnail", thumbnail.data());
    QVERIFY(slide.ok());
    openslide_get_associated_image_dimensions(slide.get(), "macro", &w, &h);
    QVERIFY(w > 2 * h);
    std::vector<std::uint32_t> macro(static_cast<std::size_t>(w * h));
    openslide_read_associated_image(slide.get(), "macro", macro.data());
    QVERIFY(slide.ok());

    // Glass background in a corner: near-white, with a little noise.
    const Rgb corner = meanColour(slide.readRgb(0, 0, 0, 64, 64));
    QVERIFY(corner.r > 236 && corner.r < 250 && corner.g > 236 && corner.g < 250);
}

void TstSyntheticSlide::levelOneIsLevelZeroAreaAveraged()
{
    OpenSlide slide(scratch("positive.svs"));
    QVERIFY(slide.ok());
    // A window around the first tumour's centre: tumour, stroma and perhaps glass.
    const auto &polygon = m_positive.tumours.front().polygon;
    double cx = 0, cy = 0;
    for (const auto &[x, y] : polygon) {
        cx += x / static_cast<double>(polygon.size());
        cy += y / static_cast<double>(polygon.size());
    }
    const std::int64_t x0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(cx) / 4 * 4 - 512, 0, 4096 - 1024);
    const std::int64_t y0 = std::clamp<std::int64_t>(static_cast<std::int64_t>(cy) / 4 * 4 - 512, 0, 3072 - 1024);
    const auto fine = slide.readRgb(x0, y0, 0, 1024, 1024);
    const auto coarse = slide.readRgb(x0, y0, 1, 256, 256);
    QVERIFY(slide.ok());
    double difference = 0.0;
    for (int y = 0; y < 256; ++y)
        for (int x = 0; x < 256; ++x)
            for (int c = 0; c < 3; ++c) {
                int sum = 0;
                for (int dy = 0; dy < 4; ++dy)
                    for (int dx = 0; dx < 4; ++dx)
                        sum += fine[static_cast<std::size_t>(((4 * y + dy) * 1024 + 4 * x + dx) * 3 + c)];
                difference += std::abs(sum / 16.0 - coarse[static_cast<std::size_t>((y * 256 + x) * 3 + c)]);
            }
    difference /= 256.0 * 256.0 * 3.0;
    QVERIFY2(difference < 6.0, qPrintable(QStringLiteral("mean abs difference %1").arg(difference)));
}

void TstSyntheticSlide::tumourLooksDifferentFromStroma()
{
    // The tumour mask and the pixels must agree: tumour is darker and more purple than the rest
    // of the tissue, so a MIL model has something to learn.
    const cv::Mat mask = cv::imread(scratch("positive_mask.png").string(), cv::IMREAD_UNCHANGED);
    QVERIFY(!mask.empty());
    OpenSlide slide(scratch("positive.svs"));
    const auto level1 = slide.readRgb(0, 0, 1, 1024, 768); // 4 px per level-1 pixel; mask is 32 px
    double tumourGreen = 0, tumourCount = 0, tissueGreen = 0, tissueCount = 0;
    for (int y = 0; y < 768; ++y)
        for (int x = 0; x < 1024; ++x) {
            const std::uint8_t *p = &level1[static_cast<std::size_t>((y * 1024 + x) * 3)];
            const bool tumour = mask.at<std::uint8_t>(y / 8, x / 8) == 255;
            if (tumour) {
                tumourGreen += p[1];
                ++tumourCount;
            } else if (p[1] < 215) { // tissue, not glass
                tissueGreen += p[1];
                ++tissueCount;
            }
        }
    QVERIFY(tumourCount > 100 && tissueCount > 1000);
    QVERIFY2(tumourGreen / tumourCount + 30 < tissueGreen / tissueCount,
             qPrintable(QStringLiteral("tumour G %1, tissue G %2").arg(tumourGreen / tumourCount).arg(tissueGreen / tissueCount)));
}

void TstSyntheticSlide::positiveGroundTruthMatchesPolygons()
{
    QVERIFY(!m_positive.tumours.empty() && m_positive.tumours.size() <= 4);
    QVERIFY(m_positive.tissueFraction > 0.1 && m_positive.tissueFraction < 0.8);
    QVERIFY(m_positive.tumourFraction > 0.0 && m_positive.tumourFraction < 0.8);
    double smallestRadius = 1e9;
    for (const TumourRegion &tumour : m_positive.tumours) {
        QVERIFY(tumour.polygon.size() >= 64);
        QVERIFY(tumour.areaPixels > 0.0);
        smallestRadius = std::min(smallestRadius, std::sqrt(tumour.areaPixels / 3.14159265));
    }
    QVERIFY2(smallestRadius < 400.0, "there is always a small, micrometastasis-like tumour");

    const QJsonDocument document = QJsonDocument::fromJson(fileBytes(scratch("positive.geojson")));
    QVERIFY(document.isObject());
    QCOMPARE(document.object()[QStringLiteral("type")].toString(), QStringLiteral("FeatureCollection"));
    const QJsonArray features = document.object()[QStringLiteral("features")].toArray();
    QCOMPARE(static_cast<std::size_t>(features.size()), m_positive.tumours.size());
    std::vector<QJsonArray> rings;
    for (qsizetype i = 0; i < features.size(); ++i) {
        const QJsonObject feature = features[i].toObject();
        QCOMPARE(feature[QStringLiteral("geometry")].toObject()[QStringLiteral("type")].toString(), QStringLiteral("Polygon"));
        const QJsonObject properties = feature[QStringLiteral("properties")].toObject();
        QCOMPARE(properties[QStringLiteral("classification")].toString(), QStringLiteral("tumor"));
        QCOMPARE(properties[QStringLiteral("area_px")].toDouble(), m_positive.tumours[static_cast<std::size_t>(i)].areaPixels);
        const QJsonArray ring = feature[QStringLiteral("geometry")].toObject()[QStringLiteral("coordinates")].toArray()[0].toArray();
        QCOMPARE(static_cast<std::size_t>(ring.size()), m_positive.tumours[static_cast<std::size_t>(i)].polygon.size() + 1);
        QCOMPARE(ring.first(), ring.last()); // closed ring
        QCOMPARE(ring[0].toArray()[0].toDouble(), m_positive.tumours[static_cast<std::size_t>(i)].polygon[0].first);
        rings.push_back(ring);
    }

    const cv::Mat mask = cv::imread(scratch("positive_mask.png").string(), cv::IMREAD_UNCHANGED);
    QCOMPARE(mask.type(), CV_8UC1);
    QCOMPARE(mask.cols, 128); // ceil(4096 / 32)
    QCOMPARE(mask.rows, 96);
    int tumourPixels = 0, insidePolygons = 0;
    for (int y = 0; y < mask.rows; ++y)
        for (int x = 0; x < mask.cols; ++x) {
            const std::uint8_t value = mask.at<std::uint8_t>(y, x);
            QVERIFY(value == 0 || value == 255);
            const double cx = (x + 0.5) * 32.0, cy = (y + 0.5) * 32.0;
            const bool inside
                = std::any_of(rings.begin(), rings.end(), [&](const QJsonArray &ring) { return insidePolygon(ring, cx, cy); });
            if (value == 255) {
                ++tumourPixels;
                insidePolygons += inside ? 1 : 0;
            }
        }
    QVERIFY(tumourPixels > 0);
    QVERIFY2(insidePolygons >= tumourPixels * 98 / 100, "mask pixels lie inside the GeoJSON polygons");
}

void TstSyntheticSlide::negativeHasNoTumour()
{
    QVERIFY(m_negative.tumours.empty());
    QCOMPARE(m_negative.tumourFraction, 0.0);
    QVERIFY(m_negative.tissueFraction > 0.1 && m_negative.tissueFraction < 0.8);
    const cv::Mat mask = cv::imread(scratch("negative_mask.png").string(), cv::IMREAD_UNCHANGED);
    QCOMPARE(mask.cols, 128);
    QCOMPARE(cv::countNonZero(mask), 0);
    const QJsonDocument document = QJsonDocument::fromJson(fileBytes(scratch("negative.geojson")));
    QCOMPARE(document.object()[QStringLiteral("type")].toString(), QStringLiteral("FeatureCollection"));
    QVERIFY(document.object()[QStringLiteral("features")].toArray().isEmpty());

    // Progress (from the positive slide): starts at 0, never goes back, ends at exactly 1.
    QVERIFY(m_progress.size() >= 2);
    QCOMPARE(m_progress.front(), 0.0);
    QCOMPARE(m_progress.back(), 1.0);
    QVERIFY(std::is_sorted(m_progress.begin(), m_progress.end()));
}

void TstSyntheticSlide::sameSeedGivesIdenticalBytes()
{
    writeSlide(smallConfig(42, true), "same-a");
    writeSlide(smallConfig(42, true), "same-b");
    const QByteArray a = fileBytes(scratch("same-a.svs"));
    QVERIFY(a.size() > 10000);
    QVERIFY(a == fileBytes(scratch("same-b.svs")));
    QVERIFY(fileBytes(scratch("same-a_mask.png")) == fileBytes(scratch("same-b_mask.png")));
    QVERIFY(fileBytes(scratch("same-a.geojson")) == fileBytes(scratch("same-b.geojson")));
}

void TstSyntheticSlide::threadCountDoesNotChangeBytes()
{
    SyntheticSlideConfig one = smallConfig(43, true);
    one.threads = 1;
    SyntheticSlideConfig two = one;
    two.threads = 2;
    SyntheticSlideConfig three = one;
    three.threads = 3; // more workers than cores: scheduling order varies most
    writeSlide(one, "threads-1");
    writeSlide(two, "threads-2");
    writeSlide(three, "threads-3");
    const QByteArray reference = fileBytes(scratch("threads-1.svs"));
    QVERIFY(reference == fileBytes(scratch("threads-2.svs")));
    QVERIFY(reference == fileBytes(scratch("threads-3.svs")));
}

void TstSyntheticSlide::differentSeedGivesDifferentSlide()
{
    writeSlide(smallConfig(44, true), "seed-44");
    writeSlide(smallConfig(45, true), "seed-45");
    QVERIFY(fileBytes(scratch("seed-44.svs")) != fileBytes(scratch("seed-45.svs")));
    QVERIFY(fileBytes(scratch("seed-44.geojson")) != fileBytes(scratch("seed-45.geojson")));
}

void TstSyntheticSlide::otherFactorTileSizeAndResolution()
{
    SyntheticSlideConfig config = smallConfig(9, true);
    config.width = 3001;
    config.height = 2050;
    config.tileSize = 240;
    config.levelFactor = 3;
    config.mpp = 0.25;
    config.objectivePower = 40;
    config.maskDownsample = 10;
    const SyntheticSlideResult result = writeSlide(config, "factor-3");
    QCOMPARE(result.levelCount, 3); // 3001x2050, 1001x684, 334x228
    OpenSlide slide(scratch("factor-3.svs"));
    QVERIFY(slide.ok());
    QCOMPARE(slide.property(OPENSLIDE_PROPERTY_NAME_MPP_X).toDouble(), 0.25);
    QCOMPARE(slide.property(OPENSLIDE_PROPERTY_NAME_OBJECTIVE_POWER).toDouble(), 40.0);
    QCOMPARE(slide.property("openslide.level[0].tile-width"), QStringLiteral("240"));
    std::int64_t w = 0, h = 0;
    openslide_get_level_dimensions(slide.get(), 2, &w, &h);
    QCOMPARE(w, std::int64_t{334});
    QCOMPARE(h, std::int64_t{228});
    const cv::Mat mask = cv::imread(scratch("factor-3_mask.png").string(), cv::IMREAD_UNCHANGED);
    QCOMPARE(mask.cols, 301); // ceil(3001 / 10)
    QCOMPARE(mask.rows, 205);
    // The last column and row of level 1 average partial blocks; they must still be ordinary glass.
    const auto level1 = slide.readRgb(0, 0, 1, 1001, 684);
    QVERIFY(slide.ok());
    const std::uint8_t *corner = &level1[(683 * 1001 + 1000) * 3];
    QVERIFY2(corner[0] > 230 && corner[1] > 230 && corner[2] > 230,
             qPrintable(QStringLiteral("%1 %2 %3").arg(corner[0]).arg(corner[1]).arg(corner[2])));
}

void TstSyntheticSlide::invalidConfigIsRejected_data()
{
    QTest::addColumn<int>("field");
    QTest::addColumn<double>("value");
    QTest::addColumn<QString>("message");
    const QString prefix = QStringLiteral("Invalid synthetic slide configuration: ");
    QTest::newRow("narrow") << 0 << 100.0 << prefix + QStringLiteral("width and height must be at least 256 pixels (got 100x1536)");
    QTest::newRow("tile size") << 1 << 100.0 << prefix + QStringLiteral("tile size must be a multiple of 16 between 16 and 4096 (got 100)");
    QTest::newRow("quality 0") << 2 << 0.0 << prefix + QStringLiteral("JPEG quality must be between 1 and 100 (got 0)");
    QTest::newRow("quality 101") << 2 << 101.0 << prefix + QStringLiteral("JPEG quality must be between 1 and 100 (got 101)");
    QTest::newRow("factor") << 3 << 1.0 << prefix + QStringLiteral("level factor must be between 2 and 64 (got 1)");
    QTest::newRow("mpp") << 4 << 0.0 << prefix + QStringLiteral("microns per pixel must be a positive number (got 0)");
    QTest::newRow("negative mpp") << 4 << -0.25 << prefix + QStringLiteral("microns per pixel must be a positive number (got -0.25)");
    QTest::newRow("band memory") << 6 << 4096.0
                                 << prefix
            + QStringLiteral("tile size 4096 is too large for a slide 200000 pixels wide (over 1 GiB of tile rows)");
    QTest::newRow("slide id") << 5 << 0.0 << prefix + QStringLiteral("slide id must not contain '|' or line breaks");
}

void TstSyntheticSlide::invalidConfigIsRejected()
{
    QFETCH(int, field);
    QFETCH(double, value);
    QFETCH(QString, message);
    SyntheticSlideConfig config = smallConfig(1, true);
    switch (field) {
    case 0: config.width = static_cast<std::int64_t>(value); break;
    case 1: config.tileSize = static_cast<int>(value); break;
    case 2: config.jpegQuality = static_cast<int>(value); break;
    case 3: config.levelFactor = static_cast<int>(value); break;
    case 4: config.mpp = value; break;
    case 5: config.slideId = "a|b"; break;
    case 6:
        config.tileSize = static_cast<int>(value);
        config.width = 200000;
        break;
    }
    const fs::path directory = scratch("invalid");
    fs::create_directories(directory);
    try {
        SyntheticSlideWriter(config).write(directory / "x.svs", directory / "x.png", directory / "x.geojson");
        QFAIL("no error");
    } catch (const SlideError &error) {
        QCOMPARE(QString::fromStdString(error.what()), message);
    }
    QVERIFY(filesIn(directory).isEmpty());
}

void TstSyntheticSlide::cancelLeavesNoFiles()
{
    const fs::path directory = scratch("cancel");
    fs::create_directories(directory);
    SyntheticSlideConfig config = smallConfig(7, true);
    config.width = 8192;
    config.height = 8192;
    SyntheticSlideWriter writer(config);
    const fs::path slide = directory / "c.svs";
    try {
        writer.write(slide, directory / "c.png", directory / "c.geojson", [&writer](double) { writer.cancel(); });
        QFAIL("no error");
    } catch (const SlideError &error) {
        QCOMPARE(QString::fromStdString(error.what()),
                 QStringLiteral("Cannot write synthetic slide '%1': cancelled").arg(QString::fromStdString(slide.string())));
    }
    QVERIFY2(filesIn(directory).isEmpty(), qPrintable(filesIn(directory).join(u' ')));
}

void TstSyntheticSlide::missingDirectoryIsReported()
{
    const fs::path slide = scratch("no-such-directory") / "x.svs";
    try {
        SyntheticSlideWriter(smallConfig(1, false)).write(slide, scratch("x.png"), scratch("x.geojson"));
        QFAIL("no error");
    } catch (const SlideError &error) {
        QCOMPARE(
            QString::fromStdString(error.what()),
            QStringLiteral("Cannot write synthetic slide '%1': No such file or directory").arg(QString::fromStdString(slide.string())));
    }
    QVERIFY(!fs::exists(scratch("x.png")) && !fs::exists(scratch("x.png.partial")));
}

void TstSyntheticSlide::readOnlyDirectoryIsReported()
{
    const fs::path directory = scratch("read-only");
    fs::create_directories(directory);
    fs::permissions(directory, fs::perms::owner_read | fs::perms::owner_exec);
    const fs::path slide = directory / "x.svs";
    QString message;
    bool probeCreated = false;
    {
        // Root (CI) would write into the folder anyway: this thread, which opens the outputs, obeys
        // the folder's permissions for the duration.
        const FilePermissionsObeyed obeyed;
        QVERIFY(obeyed.dropped());
        const fs::path probe = directory / "probe";
        const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        probeCreated = fd >= 0;
        if (fd >= 0) {
            ::close(fd);
            fs::remove(probe);
        }
        try {
            if (!probeCreated)
                SyntheticSlideWriter(smallConfig(1, false)).write(slide, directory / "x.png", directory / "x.geojson");
        } catch (const SlideError &error) {
            message = QString::fromStdString(error.what());
        }
    }
    fs::permissions(directory, fs::perms::owner_all);
    QVERIFY2(!probeCreated, "the folder is writable to this thread: the test cannot check the error");
    QCOMPARE(message, QStringLiteral("Cannot write synthetic slide '%1': Permission denied").arg(QString::fromStdString(slide.string())));
    QVERIFY2(filesIn(directory).isEmpty(), qPrintable(filesIn(directory).join(u' ')));
}

void TstSyntheticSlide::writeFailureLeavesNoFiles()
{
    // A file size limit makes write() fail half-way with EFBIG, like a full disk does with ENOSPC.
    const fs::path directory = scratch("too-large");
    fs::create_directories(directory);
    const fs::path slide = directory / "x.svs";
    rlimit previous{};
    QVERIFY(::getrlimit(RLIMIT_FSIZE, &previous) == 0);
    const auto previousHandler = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = previous;
    limited.rlim_cur = 200 * 1024;
    QVERIFY(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
    QString message;
    try {
        SyntheticSlideWriter(smallConfig(8, true)).write(slide, directory / "x.png", directory / "x.geojson");
    } catch (const SlideError &error) {
        message = QString::fromStdString(error.what());
    }
    ::setrlimit(RLIMIT_FSIZE, &previous);
    std::signal(SIGXFSZ, previousHandler);
    QCOMPARE(message, QStringLiteral("Cannot write synthetic slide '%1': File too large").arg(QString::fromStdString(slide.string())));
    QVERIFY2(filesIn(directory).isEmpty(), qPrintable(filesIn(directory).join(u' ')));
}

QTEST_GUILESS_MAIN(TstSyntheticSlide)
#include "tst_syntheticslide.moc"
