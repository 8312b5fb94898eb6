// SPDX-License-Identifier: GPL-3.0-or-later
// SlideSource: both backends, properties, level consistency, concurrent reads and every error path.
#include "slide/slideerror.h"
#include "slide/io/slidelibraries.h"
#include "slide/io/slidesource.h"
#include "slide/synthetic/syntheticslidewriter.h"

#include <QImage>
#include "common/slidetestsupport.h"

#include <QtTest>

#include <tiffio.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

namespace fs = std::filesystem;
using namespace icmil::slide;

namespace {

// The message of the SlideError that `f` throws, or "<no error>".
template <typename F> QString errorOf(F &&f)
{
    try {
        f();
    } catch (const SlideError &e) {
        return QString::fromStdString(e.what());
    }
    return QStringLiteral("<no error>");
}

std::uint64_t checksum(const RgbaImage &image)
{
    std::uint64_t h = 1469598103934665603ull;
    for (std::uint8_t b : image.pixels)
        h = (h ^ b) * 1099511628211ull;
    return h;
}

void writeBytes(const fs::path &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string readBytes(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A strip TIFF of grey 8-bit planes, one directory each, as a fluorescence scanner writes a
// channel stack; with `names` each plane carries a QPTIFF (PerkinElmer-QPI) XML description.
// `dpcm`: its resolution in pixels per centimetre (0: none recorded).
void writeGreyPlanes(const fs::path &path, int planes, const std::vector<std::string> &names, float dpcm = 0.0f)
{
    TIFF *tiff = TIFFOpen(path.c_str(), "w");
    QVERIFY(tiff != nullptr);
    const int w = 40, h = 30;
    for (int plane = 0; plane < planes; ++plane) {
        TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
        TIFFSetField(tiff, TIFFTAG_ROWSPERSTRIP, h);
        if (dpcm > 0.0f) {
            TIFFSetField(tiff, TIFFTAG_XRESOLUTION, dpcm);
            TIFFSetField(tiff, TIFFTAG_YRESOLUTION, dpcm);
            TIFFSetField(tiff, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER);
        }
        if (!names.empty()) {
            const std::string xml = "<?xml version=\"1.0\" encoding=\"utf-8\"?><PerkinElmer-QPI-ImageDescription>"
                                    "<DescriptionVersion>2</DescriptionVersion><ImageType>FullResolution</ImageType><Name>"
                + names[static_cast<std::size_t>(plane)] + "</Name></PerkinElmer-QPI-ImageDescription>";
            TIFFSetField(tiff, TIFFTAG_IMAGEDESCRIPTION, xml.c_str());
        }
        std::vector<std::uint8_t> row(static_cast<std::size_t>(w), static_cast<std::uint8_t>(40 * plane + 10));
        for (int y = 0; y < h; ++y)
            QVERIFY(TIFFWriteScanline(tiff, row.data(), static_cast<std::uint32_t>(y), 0) == 1);
        QVERIFY(TIFFWriteDirectory(tiff) == 1);
    }
    TIFFClose(tiff);
}

} // namespace

class TstSlideSource : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    fs::path m_slide;
    std::unique_ptr<SlideSource> m_source;

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = icmil::test::scratchDir("tst_slidesource");
        m_slide = m_dir / "fixture.svs";
        SyntheticSlideConfig config;
        config.width = 4096;
        config.height = 3072;
        config.seed = 11;
        config.positive = true;
        config.slideId = "fixture";
        SyntheticSlideWriter(config).write(m_slide, m_dir / "fixture_mask.png", m_dir / "fixture.geojson");
        m_source = SlideSource::open(m_slide);
    }

    void openslideProperties()
    {
        QCOMPARE(QString::fromStdString(m_source->backendName()), QStringLiteral("openslide"));
        const SlideMetadata &m = m_source->metadata();
        QCOMPARE(QString::fromStdString(m.vendor), QStringLiteral("aperio"));
        QVERIFY(m.mppX && m.mppY);
        QCOMPARE(*m.mppX, 0.5);
        QCOMPARE(*m.mppY, 0.5);
        QVERIFY(m.objectivePower);
        QCOMPARE(*m.objectivePower, 20.0);
        QCOMPARE(m_source->levelCount(), 3);
        QCOMPARE(m_source->level(0).width, std::int64_t{4096});
        QCOMPARE(m_source->level(0).height, std::int64_t{3072});
        QCOMPARE(m_source->level(1).width, std::int64_t{1024});
        QCOMPARE(m_source->level(2).width, std::int64_t{256});
        QCOMPARE(m_source->level(1).downsample, 4.0);
        QCOMPARE(m_source->level(2).downsample, 16.0);
        QCOMPARE(m.associatedImages, (std::vector<std::string>{"label", "macro", "thumbnail"}));
        QCOMPARE(QString::fromStdString(m.properties.at("openslide.mpp-x")).toDouble(), 0.5);
        QCOMPARE(m_source->bestLevelForDownsample(1.0), 0);
        QCOMPARE(m_source->bestLevelForDownsample(5.0), 1);
        QCOMPARE(m_source->bestLevelForDownsample(15.9), 1);
        QCOMPARE(m_source->bestLevelForDownsample(100.0), 2);
    }

    void regionIsOpaqueStraightRgba()
    {
        const RgbaImage region = m_source->readRegion(0, 1000, 1000, 300, 200);
        QCOMPARE(region.width, 300);
        QCOMPARE(region.height, 200);
        QCOMPARE(region.pixels.size(), std::size_t{300 * 200 * 4});
        for (std::size_t i = 3; i < region.pixels.size(); i += 4)
            QCOMPARE(int(region.pixels[i]), 255);
    }

    void argbReadMatchesRgbaRead()
    {
        // OpenSlide's native path: opaque pixels, so premultiplied ARGB is RGBA with bytes moved.
        const RgbaImage rgba = m_source->readRegion(1, 400, 800, 97, 61);
        std::vector<std::uint32_t> argb(97 * 61);
        m_source->readRegionArgb(1, 400, 800, 97, 61, argb.data());
        for (std::size_t i = 0; i < argb.size(); ++i) {
            const std::uint8_t *p = rgba.pixels.data() + 4 * i;
            const std::uint32_t expected = (std::uint32_t{p[3]} << 24) | (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
            QCOMPARE(argb[i], expected);
        }
        QCOMPARE(errorOf([&] { m_source->readRegionArgb(0, 4000, 0, 256, 256, argb.data()); }),
                 errorOf([&] { m_source->readRegion(0, 4000, 0, 256, 256); }));

        // The base-class path (plain images) premultiplies straight RGBA, rounding to nearest.
        QImage image(4, 1, QImage::Format_ARGB32);
        image.setPixelColor(0, 0, QColor(200, 100, 50, 255));
        image.setPixelColor(1, 0, QColor(200, 100, 51, 128));
        image.setPixelColor(2, 0, QColor(255, 255, 255, 0));
        image.setPixelColor(3, 0, QColor(10, 20, 30, 1));
        const fs::path png = m_dir / "translucent.png";
        QVERIFY(image.save(QString::fromStdString(png.string())));
        const auto plain = SlideSource::open(png);
        std::uint32_t pixels[4] = {};
        plain->readRegionArgb(0, 0, 0, 4, 1, pixels);
        QCOMPARE(pixels[0], 0xffc86432u);
        QCOMPARE(pixels[1], (128u << 24) | (100u << 16) | (50u << 8) | 26u); // 200*128/255=100.4, 51*128/255=25.6
        QCOMPARE(pixels[2], 0u);
        QCOMPARE(pixels[3], (1u << 24) | 0u);
    }

    void levelsAgreeWhenDownsampled()
    {
        // Level 1 is level 0 area-averaged by 4 (then JPEG): compare a 1024 x 1024 level-0 block.
        const std::int64_t x0 = 1024, y0 = 1024;
        const RgbaImage fine = m_source->readRegion(0, x0, y0, 1024, 1024);
        const RgbaImage coarse = m_source->readRegion(1, x0, y0, 256, 256);
        double totalDiff = 0.0;
        for (int y = 0; y < 256; ++y) {
            for (int x = 0; x < 256; ++x) {
                for (int c = 0; c < 3; ++c) {
                    double sum = 0.0;
                    for (int dy = 0; dy < 4; ++dy)
                        for (int dx = 0; dx < 4; ++dx)
                            sum += fine.pixel(4 * x + dx, 4 * y + dy)[c];
                    totalDiff += std::abs(sum / 16.0 - coarse.pixel(x, y)[c]);
                }
            }
        }
        const double meanDiff = totalDiff / (256.0 * 256.0 * 3.0);
        QVERIFY2(meanDiff < 6.0, qPrintable(QStringLiteral("mean abs difference %1").arg(meanDiff)));
    }

    void concurrentReadsMatchSequentialReads()
    {
        struct Request {
            int level;
            std::int64_t x, y;
            int w, h;
        };
        std::mt19937 rng(5);
        std::vector<Request> requests;
        for (int i = 0; i < 160; ++i) {
            const int level = static_cast<int>(rng() % 3);
            const LevelInfo &info = m_source->level(level);
            const int w = 1 + static_cast<int>(rng() % std::min<std::int64_t>(300, info.width));
            const int h = 1 + static_cast<int>(rng() % std::min<std::int64_t>(300, info.height));
            const std::int64_t lx = static_cast<std::int64_t>(rng() % static_cast<unsigned>(info.width - w + 1));
            const std::int64_t ly = static_cast<std::int64_t>(rng() % static_cast<unsigned>(info.height - h + 1));
            const auto ds = static_cast<std::int64_t>(info.downsample);
            requests.push_back({level, lx * ds, ly * ds, w, h});
        }
        std::vector<std::uint64_t> expected;
        for (const Request &r : requests)
            expected.push_back(checksum(m_source->readRegion(r.level, r.x, r.y, r.w, r.h)));

        // A fresh handle, so the reads race on cold OpenSlide caches too.
        const auto shared = SlideSource::open(m_slide);
        std::atomic_int mismatches{0};
        std::atomic_int failures{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                for (std::size_t i = static_cast<std::size_t>(t); i < requests.size(); i += 2) {
                    const std::size_t index = (i * 7 + static_cast<std::size_t>(t)) % requests.size();
                    const Request &r = requests[index];
                    try {
                        if (checksum(shared->readRegion(r.level, r.x, r.y, r.w, r.h)) != expected[index])
                            ++mismatches;
                    } catch (const SlideError &) {
                        ++failures;
                    }
                }
            });
        }
        for (std::thread &t : threads)
            t.join();
        QCOMPARE(failures.load(), 0);
        QCOMPARE(mismatches.load(), 0);
    }

    void associatedImages()
    {
        const RgbaImage thumbnail = m_source->readAssociatedImage("thumbnail");
        QVERIFY(thumbnail.width > 0 && thumbnail.height > 0);
        QVERIFY(std::abs(double(thumbnail.width) / thumbnail.height - 4096.0 / 3072.0) < 0.02);
        const RgbaImage label = m_source->readAssociatedImage("label");
        QVERIFY(!label.isNull());
        QCOMPARE(errorOf([&] { m_source->readAssociatedImage("barcode"); }),
                 QStringLiteral("Cannot read associated image 'barcode' of '%1': the slide has label, macro, thumbnail")
                     .arg(QString::fromStdString(m_slide.string())));
    }

    void badRegionArguments()
    {
        const QString file = QString::fromStdString(m_slide.string());
        QCOMPARE(errorOf([&] { m_source->readRegion(0, 4000, 0, 256, 256); }),
                 QStringLiteral("Cannot read region (x=4000, y=0, w=256, h=256) at level 0 of '%1': outside the "
                                "level's 4096x3072 pixels")
                     .arg(file));
        QCOMPARE(errorOf([&] { m_source->readRegion(1, -4, 0, 16, 16); }),
                 QStringLiteral("Cannot read region (x=-4, y=0, w=16, h=16) at level 1 of '%1': outside the "
                                "level's 1024x768 pixels")
                     .arg(file));
        QCOMPARE(errorOf([&] { m_source->readRegion(2, 0, 2048, 256, 129); }),
                 QStringLiteral("Cannot read region (x=0, y=2048, w=256, h=129) at level 2 of '%1': outside the "
                                "level's 256x192 pixels")
                     .arg(file));
        QCOMPARE(errorOf([&] { m_source->readRegion(3, 0, 0, 16, 16); }),
                 QStringLiteral("Cannot read region (x=0, y=0, w=16, h=16) at level 3 of '%1': the slide has levels "
                                "0 to 2")
                     .arg(file));
        QCOMPARE(errorOf([&] { m_source->readRegion(0, 0, 0, 0, 16); }),
                 QStringLiteral("Cannot read region (x=0, y=0, w=0, h=16) at level 0 of '%1': width and height must "
                                "be positive")
                     .arg(file));
        QCOMPARE(errorOf([&] { m_source->level(7); }), QStringLiteral("Level 7 does not exist in '%1' (it has 3 levels)").arg(file));
        // The last pixel row and column are readable: bounds are inclusive of the level's edge.
        QCOMPARE(m_source->readRegion(2, 255 * 16, 191 * 16, 1, 1).width, 1);
    }

    void openErrors()
    {
        const fs::path missing = m_dir / "missing.svs";
        QCOMPARE(errorOf([&] { SlideSource::open(missing); }),
                 QStringLiteral("Cannot open slide '%1': file does not exist").arg(QString::fromStdString(missing.string())));

        QCOMPARE(errorOf([&] { SlideSource::open(m_dir); }),
                 QStringLiteral("Cannot open slide '%1': it is a directory, not a file").arg(QString::fromStdString(m_dir.string())));

        const fs::path empty = m_dir / "empty.svs";
        writeBytes(empty, "");
        QCOMPARE(errorOf([&] { SlideSource::open(empty); }),
                 QStringLiteral("Cannot open slide '%1': file is empty").arg(QString::fromStdString(empty.string())));

        const fs::path text = m_dir / "notes.svs";
        writeBytes(text, "case_id,slide_id,label\nthis is not a slide\n");
        QCOMPARE(errorOf([&] { SlideSource::open(text); }),
                 QStringLiteral("Cannot open slide '%1': not a whole-slide image or an image format this build can "
                                "read")
                     .arg(QString::fromStdString(text.string())));
    }

    void formatsItWouldMisreadAreRefusedByName()
    {
        // A DICOM file: OpenSlide 3.4 cannot read DICOM; say so rather than "damaged".
        const fs::path dicom = m_dir / "scan.dcm";
        writeBytes(dicom, std::string(128, '\0') + "DICM" + std::string(256, '\x02'));
        const QString dicomError = errorOf([&] { SlideSource::open(dicom); });
        QVERIFY2(dicomError.startsWith(QStringLiteral("Cannot open slide '%1': a DICOM file, which OpenSlide %2 cannot read (OpenSlide "
                                                      "reads DICOM whole-slide images from version 4.0.0)")
                                           .arg(QString::fromStdString(dicom.string()), QString::fromStdString(openSlideVersion()))),
                 qPrintable(dicomError));

        // A QPTIFF channel stack would open as its first channel in grey: refused, channels named.
        const fs::path qptiff = m_dir / "fluorescence.qptiff.tif";
        writeGreyPlanes(qptiff, 3, {"DAPI", "FITC", "Cy5"});
        QCOMPARE(errorOf([&] { SlideSource::open(qptiff); }),
                 QStringLiteral("Cannot open slide '%1': a multichannel fluorescence image (QPTIFF, 3 channels: DAPI, FITC, Cy5); "
                                "ICMIL Studio reads brightfield RGB slides (H&E, IHC), and would show only the first channel in grey")
                     .arg(QString::fromStdString(qptiff.string())));
        const fs::path stack = m_dir / "stack.tif";
        writeGreyPlanes(stack, 2, {});
        QVERIFY(errorOf([&] { SlideSource::open(stack); })
                    .endsWith(QStringLiteral(": a multichannel fluorescence image (2 channels); "
                                             "ICMIL Studio reads brightfield RGB slides (H&E, IHC), "
                                             "and would show only the first channel in grey")));

        // One grey plane is an ordinary image; its resolution, when a microscope's, is its mpp,
        // and it does not pretend to be an OpenSlide slide.
        const fs::path grey = m_dir / "grey.tif";
        writeGreyPlanes(grey, 1, {}, 40000.0f); // 40000 px/cm = 0.25 um/px
        const auto source = SlideSource::open(grey);
        QCOMPARE(QString::fromStdString(source->backendName()), QStringLiteral("image"));
        QVERIFY(source->metadata().mppX.has_value());
        QCOMPARE(*source->metadata().mppX, 0.25);
        QVERIFY(!source->metadata().properties.contains("openslide.level-count"));
        QCOMPARE(source->metadata().properties.at("image.width"), std::string("40"));
        const fs::path screen = m_dir / "screen.tif";
        writeGreyPlanes(screen, 1, {}, 28.35f); // 72 dpi: a screen's, not a microscope's
        QVERIFY(!SlideSource::open(screen)->metadata().mppX);
    }

    void truncatedSlide()
    {
        const std::string bytes = readBytes(m_slide);
        const fs::path truncated = m_dir / "truncated.svs";
        writeBytes(truncated, bytes.substr(0, bytes.size() / 2));
        // Half-way through level 0's tiles: libtiff wrote level 0's directory after them. (More
        // cuts: tests/fixtures/malformed and tst_malformedslides.)
        QCOMPARE(errorOf([&] { SlideSource::open(truncated); }),
                 QStringLiteral("Cannot open slide '%1': the file is cut short or damaged: TIFF directory 1 lies past the end of the "
                                "file; copy or download it again")
                     .arg(QString::fromStdString(truncated.string())));
    }

    void damagedTileFailsAndHandleStaysFailed()
    {
        // Overwrite the JPEG header of level 0's first tile: the file opens, that read fails.
        const fs::path damaged = m_dir / "damaged.svs";
        QVERIFY(icmil::test::writeSlideWithDamagedFirstTile(m_slide, damaged));
        const auto source = SlideSource::open(damaged);
        const QString file = QString::fromStdString(damaged.string());
        const QString cause = QStringLiteral("Not a JPEG file: starts with 0x00 0x00"); // libjpeg's words
        QCOMPARE(errorOf([&] { source->readRegion(0, 0, 0, 64, 64); }),
                 QStringLiteral("Cannot read region (x=0, y=0, w=64, h=64) at level 0 of '%1': %2").arg(file, cause));
        // OpenSlide errors are terminal: a healthy region now fails with the same cause.
        QCOMPARE(errorOf([&] { source->readRegion(0, 2048, 2048, 64, 64); }),
                 QStringLiteral("Cannot read region (x=2048, y=2048, w=64, h=64) at level 0 of '%1': %2").arg(file, cause));
    }

    void plainPngImage()
    {
        QImage image(300, 200, QImage::Format_RGB32);
        image.fill(QColor(10, 20, 30));
        image.setPixelColor(299, 199, QColor(200, 100, 50));
        const fs::path png = m_dir / "plain.png";
        QVERIFY(image.save(QString::fromStdString(png.string())));

        const auto source = SlideSource::open(png);
        QCOMPARE(QString::fromStdString(source->backendName()), QStringLiteral("image"));
        QCOMPARE(source->levelCount(), 1);
        QCOMPARE(source->level(0).width, std::int64_t{300});
        QVERIFY(!source->metadata().mppX);
        QVERIFY(!source->metadata().objectivePower);
        QVERIFY(source->metadata().associatedImages.empty());
        const RgbaImage region = source->readRegion(0, 298, 198, 2, 2);
        const std::uint8_t *p = region.pixel(0, 0);
        QCOMPARE((QList<int>{p[0], p[1], p[2], p[3]}), (QList<int>{10, 20, 30, 255}));
        p = region.pixel(1, 1);
        QCOMPARE((QList<int>{p[0], p[1], p[2], p[3]}), (QList<int>{200, 100, 50, 255}));
        QCOMPARE(source->bestLevelForDownsample(8.0), 0);
    }

    void plainStripTiff()
    {
        // OpenSlide 3.4 reads only tiled TIFFs; strip TIFFs open through the plain-image backend.
        const fs::path path = m_dir / "strips.tif";
        TIFF *tiff = TIFFOpen(path.c_str(), "w");
        QVERIFY(tiff != nullptr);
        const int w = 64, h = 48;
        TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, 3);
        TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, 8);
        TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
        TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(tiff, TIFFTAG_ROWSPERSTRIP, 16);
        std::vector<std::uint8_t> row(static_cast<std::size_t>(w) * 3);
        for (int y = 0; y < h; ++y) {
            for (int x = 0; x < w; ++x) {
                row[static_cast<std::size_t>(3 * x)] = static_cast<std::uint8_t>(x * 4);
                row[static_cast<std::size_t>(3 * x + 1)] = static_cast<std::uint8_t>(y * 5);
                row[static_cast<std::size_t>(3 * x + 2)] = 77;
            }
            QVERIFY(TIFFWriteScanline(tiff, row.data(), static_cast<std::uint32_t>(y), 0) == 1);
        }
        TIFFClose(tiff);

        const auto source = SlideSource::open(path);
        QCOMPARE(QString::fromStdString(source->backendName()), QStringLiteral("image"));
        QCOMPARE(source->level(0).height, std::int64_t{48});
        const RgbaImage region = source->readRegion(0, 10, 20, 1, 1);
        QCOMPARE((QList<int>{region.pixels[0], region.pixels[1], region.pixels[2]}), (QList<int>{40, 100, 77}));
    }
};

QTEST_GUILESS_MAIN(TstSlideSource)
#include "tst_slidesource.moc"
