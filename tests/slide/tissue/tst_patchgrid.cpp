// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/slidetestsupport.h"

#include "slide/tissue/patchgrid.h"
#include "slide/slideerror.h"
#include "slide/io/slidesource.h"
#include "slide/synthetic/syntheticslidewriter.h"
#include "slide/tissue/tissuedetector.h"
#include "slide/tissue/tissuemap.h"

#include <QtTest>

#include <QImage>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

using namespace icmil::slide;
namespace fs = std::filesystem;

namespace {

// Every coordinate on the lattice, row-major, patch wholly inside level 0, read inside readLevel.
void checkLattice(const SlideSource &slide, const PatchGrid &grid)
{
    const LevelInfo &base = slide.level(0);
    const LevelInfo &read = slide.level(grid.readLevel);
    for (std::size_t i = 0; i < grid.coords.size(); ++i) {
        const PatchCoord &c = grid.coords[i];
        QVERIFY(c.x >= 0 && c.y >= 0);
        QVERIFY(c.x + grid.level0PatchSize <= base.width);
        QVERIFY(c.y + grid.level0PatchSize <= base.height);
        QCOMPARE(c.x % grid.level0Step, std::int64_t{0});
        QCOMPARE(c.y % grid.level0Step, std::int64_t{0});
        QVERIFY(static_cast<std::int64_t>(static_cast<double>(c.x) / read.downsample) + grid.readSize <= read.width);
        QVERIFY(static_cast<std::int64_t>(static_cast<double>(c.y) / read.downsample) + grid.readSize <= read.height);
        if (i > 0) {
            const PatchCoord &p = grid.coords[i - 1];
            QVERIFY(p.y < c.y || (p.y == c.y && p.x < c.x));
        }
    }
    QCOMPARE(grid.columns, (base.width - grid.level0PatchSize) / grid.level0Step + 1);
    QCOMPARE(grid.rows, (base.height - grid.level0PatchSize) / grid.level0Step + 1);
    // The last patch can really be read.
    if (!grid.coords.empty()) {
        const PatchCoord &last = grid.coords.back();
        const RgbaImage pixels = slide.readRegion(grid.readLevel, last.x, last.y, grid.readSize, grid.readSize);
        QCOMPARE(pixels.width, grid.readSize);
    }
}

QString message(const std::function<void()> &action)
{
    try {
        action();
    } catch (const SlideError &error) {
        return QString::fromUtf8(error.what());
    }
    return QStringLiteral("(no error)");
}

} // namespace

class TstPatchGrid : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void magnificationMode_data();
    void magnificationMode();
    void refusesUpsampling();
    void levelMode();
    void plainImageUsesLevelMode();
    void overlapAndStep();
    void tissueFractionFilter_data();
    void tissueFractionFilter();
    void detectedTissueFilter();
    void errorsAreReported();

private:
    fs::path writeSlide(const std::string &name, double mpp, int objectivePower, int levelFactor);

    fs::path m_scratch;
    std::map<QString, fs::path> m_slides;
};

fs::path TstPatchGrid::writeSlide(const std::string &name, double mpp, int objectivePower, int levelFactor)
{
    SyntheticSlideConfig config;
    config.width = 4096;
    config.height = 3072;
    config.seed = 41;
    config.mpp = mpp;
    config.objectivePower = objectivePower;
    config.levelFactor = levelFactor;
    config.threads = 2;
    config.slideId = name;
    const fs::path slide = m_scratch / (name + ".svs");
    SyntheticSlideWriter(config).write(slide, m_scratch / (name + "_mask.png"), m_scratch / (name + ".geojson"));
    return slide;
}

void TstPatchGrid::initTestCase()
{
    m_scratch = icmil::test::scratchDir("tst_patchgrid");
    m_slides[QStringLiteral("20x")] = writeSlide("mag20", 0.5, 20, 4);      // downsamples 1, 4, 16
    m_slides[QStringLiteral("40x/2")] = writeSlide("mag40f2", 0.25, 40, 2); // 1, 2, 4, 8
    m_slides[QStringLiteral("40x/4")] = writeSlide("mag40f4", 0.25, 40, 4); // 1, 4, 16
}

void TstPatchGrid::magnificationMode_data()
{
    QTest::addColumn<QString>("slide");
    QTest::addColumn<double>("target");
    QTest::addColumn<int>("readLevel");
    QTest::addColumn<int>("readSize");
    QTest::addColumn<qint64>("level0PatchSize");

    QTest::newRow("20x slide at 20x") << QStringLiteral("20x") << 20.0 << 0 << 256 << qint64{256};
    QTest::newRow("20x slide at 10x") << QStringLiteral("20x") << 10.0 << 0 << 512 << qint64{512};
    QTest::newRow("20x slide at 5x") << QStringLiteral("20x") << 5.0 << 1 << 256 << qint64{1024};
    QTest::newRow("20x slide at 2.5x") << QStringLiteral("20x") << 2.5 << 1 << 512 << qint64{2048};
    QTest::newRow("20x slide at 15x") << QStringLiteral("20x") << 15.0 << 0 << 341 << qint64{341};
    QTest::newRow("40x slide (factor 2) at 40x") << QStringLiteral("40x/2") << 40.0 << 0 << 256 << qint64{256};
    QTest::newRow("40x slide (factor 2) at 20x") << QStringLiteral("40x/2") << 20.0 << 1 << 256 << qint64{512};
    QTest::newRow("40x slide (factor 2) at 10x") << QStringLiteral("40x/2") << 10.0 << 2 << 256 << qint64{1024};
    QTest::newRow("40x slide (factor 4) at 20x") << QStringLiteral("40x/4") << 20.0 << 0 << 512 << qint64{512};
    QTest::newRow("40x slide (factor 4) at 10x") << QStringLiteral("40x/4") << 10.0 << 1 << 256 << qint64{1024};
}

void TstPatchGrid::magnificationMode()
{
    QFETCH(QString, slide);
    QFETCH(double, target);
    QFETCH(int, readLevel);
    QFETCH(int, readSize);
    QFETCH(qint64, level0PatchSize);
    const std::unique_ptr<SlideSource> source = SlideSource::open(m_slides.at(slide));
    PatchGridParams params;
    params.targetMagnification = target;
    const PatchGrid grid = PatchGrid::build(*source, nullptr, params);
    QCOMPARE(grid.mode, PatchGridMode::Magnification);
    QCOMPARE(grid.patchSize, 256);
    QCOMPARE(grid.readLevel, readLevel);
    QCOMPARE(grid.patchLevel, readLevel);
    QCOMPARE(grid.readSize, readSize);
    QCOMPARE(grid.level0PatchSize, level0PatchSize);
    QCOMPARE(grid.level0Step, level0PatchSize); // no overlap
    QCOMPARE(grid.targetMagnification, std::optional<double>(target));
    QCOMPARE(grid.level0Magnification, std::optional<double>(slide == QStringLiteral("20x") ? 20.0 : 40.0));
    // No tissue map: every lattice position.
    QCOMPARE(static_cast<std::int64_t>(grid.coords.size()), grid.columns * grid.rows);
    checkLattice(*source, grid);
}

void TstPatchGrid::refusesUpsampling()
{
    const std::unique_ptr<SlideSource> source = SlideSource::open(m_slides.at(QStringLiteral("20x")));
    PatchGridParams params;
    params.targetMagnification = 40.0;
    QCOMPARE(message([&] { PatchGrid::build(*source, nullptr, params); }),
             QStringLiteral("Cannot make patches at 40x from '%1': the slide's highest magnification is 20x and patches are "
                            "never upsampled")
                 .arg(QString::fromStdString(m_slides.at(QStringLiteral("20x")).string())));
    const std::unique_ptr<SlideSource> forty = SlideSource::open(m_slides.at(QStringLiteral("40x/2")));
    params.targetMagnification = 40.5;
    QCOMPARE(message([&] { PatchGrid::build(*forty, nullptr, params); }),
             QStringLiteral("Cannot make patches at 40.5x from '%1': the slide's highest magnification is 40x and patches are "
                            "never upsampled")
                 .arg(QString::fromStdString(m_slides.at(QStringLiteral("40x/2")).string())));
}

void TstPatchGrid::levelMode()
{
    const std::unique_ptr<SlideSource> source = SlideSource::open(m_slides.at(QStringLiteral("20x")));
    PatchGridParams params;
    params.targetMagnification.reset();
    params.level = 1;
    const PatchGrid grid = PatchGrid::build(*source, nullptr, params);
    QCOMPARE(grid.mode, PatchGridMode::Level);
    QCOMPARE(grid.readLevel, 1);
    QCOMPARE(grid.patchLevel, 1);
    QCOMPARE(grid.readSize, 256);
    QCOMPARE(grid.level0PatchSize, std::int64_t{1024});
    QCOMPARE(grid.level0Step, std::int64_t{1024});
    QVERIFY(!grid.targetMagnification);
    QCOMPARE(grid.level0Magnification, std::optional<double>(20.0));
    QCOMPARE(grid.columns, std::int64_t{4});
    QCOMPARE(grid.rows, std::int64_t{3});
    QCOMPARE(grid.coords.size(), std::size_t{12});
    QCOMPARE(grid.coords[5], (PatchCoord{1024, 1024}));
    checkLattice(*source, grid);

    params.level = 3;
    QCOMPARE(message([&] { PatchGrid::build(*source, nullptr, params); }),
             QStringLiteral("Level 3 does not exist in '%1' (it has 3 levels)")
                 .arg(QString::fromStdString(m_slides.at(QStringLiteral("20x")).string())));
}

void TstPatchGrid::plainImageUsesLevelMode()
{
    QImage image(1000, 700, QImage::Format_RGB32);
    image.fill(qRgb(200, 120, 170));
    const fs::path path = m_scratch / "plain.png";
    QVERIFY(image.save(QString::fromStdString(path.string())));
    const std::unique_ptr<SlideSource> source = SlideSource::open(path);
    QVERIFY(!PatchGrid::slideMagnification(*source));
    const PatchGrid grid = PatchGrid::build(*source, nullptr, PatchGridParams{}); // asks for 20x; the image has no magnification
    QCOMPARE(grid.mode, PatchGridMode::Level);
    QCOMPARE(grid.readLevel, 0);
    QCOMPARE(grid.readSize, 256);
    QCOMPARE(grid.level0PatchSize, std::int64_t{256});
    QVERIFY(!grid.level0Magnification);
    QCOMPARE(grid.columns, std::int64_t{3});
    QCOMPARE(grid.rows, std::int64_t{2});
    checkLattice(*source, grid);
}

void TstPatchGrid::overlapAndStep()
{
    const std::unique_ptr<SlideSource> source = SlideSource::open(m_slides.at(QStringLiteral("20x")));
    PatchGridParams params;
    params.overlap = 0.5;
    PatchGrid grid = PatchGrid::build(*source, nullptr, params);
    QCOMPARE(grid.level0Step, std::int64_t{128});
    QCOMPARE(grid.columns, std::int64_t{31}); // (4096 - 256) / 128 + 1
    QCOMPARE(grid.rows, std::int64_t{23});    // (3072 - 256) / 128 + 1
    QCOMPARE(grid.coords.size(), std::size_t{31 * 23});
    QCOMPARE(grid.coords[1], (PatchCoord{128, 0}));
    QCOMPARE(grid.coords[31], (PatchCoord{0, 128}));
    QCOMPARE(grid.coords.back(), (PatchCoord{3840, 2816}));
    checkLattice(*source, grid);

    // A step in output pixels at 10x: 200 px there are 400 level-0 pixels.
    params.overlap = 0.0;
    params.step = 200;
    params.targetMagnification = 10.0;
    grid = PatchGrid::build(*source, nullptr, params);
    QCOMPARE(grid.level0PatchSize, std::int64_t{512});
    QCOMPARE(grid.level0Step, std::int64_t{400});
    QCOMPARE(grid.columns, std::int64_t{9}); // (4096 - 512) / 400 + 1
    QCOMPARE(grid.rows, std::int64_t{7});    // (3072 - 512) / 400 + 1
    checkLattice(*source, grid);

    // Overlap at 5x: 25% of 1024 level-0 pixels.
    params.step = 0;
    params.overlap = 0.25;
    params.targetMagnification = 5.0;
    grid = PatchGrid::build(*source, nullptr, params);
    QCOMPARE(grid.level0Step, std::int64_t{768});
    checkLattice(*source, grid);
}

void TstPatchGrid::tissueFractionFilter_data()
{
    QTest::addColumn<double>("threshold");
    QTest::newRow("0.25 (default)") << 0.25;
    QTest::newRow("0.5") << 0.5;
    QTest::newRow("0.8") << 0.8;
    QTest::newRow("1") << 1.0;
    QTest::newRow("0 keeps all") << 0.0;
}

void TstPatchGrid::tissueFractionFilter()
{
    QFETCH(double, threshold);
    const std::unique_ptr<SlideSource> source = SlideSource::open(m_slides.at(QStringLiteral("20x")));
    // A 64 x 48 mask (64 level-0 pixels each) whose columns 0..30 are tissue: x < 1984.
    std::vector<std::uint8_t> mask(64 * 48, 0);
    for (int y = 0; y < 48; ++y)
        for (int x = 0; x < 31; ++x)
            mask[static_cast<std::size_t>(y * 64 + x)] = 255;
    const TissueMap map(4096, 3072, 64, 48, mask, {});
    PatchGridParams params;
    params.minTissueFraction = threshold;
    params.overlap = 0.5; // step 128: patches straddle the edge at many fractions
    const PatchGrid grid = PatchGrid::build(*source, &map, params);
    checkLattice(*source, grid);
    std::size_t expected = 0;
    for (std::int64_t row = 0; row < grid.rows; ++row) {
        for (std::int64_t column = 0; column < grid.columns; ++column) {
            const std::int64_t x = column * 128;
            const double fraction = std::clamp((1984.0 - static_cast<double>(x)) / 256.0, 0.0, 1.0);
            const bool kept = std::find(grid.coords.begin(), grid.coords.end(), PatchCoord{x, row * 128}) != grid.coords.end();
            QCOMPARE(kept, fraction >= threshold);
            expected += kept ? 1 : 0;
        }
    }
    QCOMPARE(grid.coords.size(), expected);
    QVERIFY(!grid.coords.empty());
}

void TstPatchGrid::detectedTissueFilter()
{
    const std::unique_ptr<SlideSource> source = SlideSource::open(m_slides.at(QStringLiteral("40x/2")));
    const TissueMap map = TissueDetector(TissueDetectionParams::preset("bwh_biopsy")).detect(*source);
    QVERIFY(!map.isEmpty());
    const PatchGrid grid = PatchGrid::build(*source, &map, PatchGridParams{});
    checkLattice(*source, grid);
    QVERIFY(!grid.coords.empty());
    QVERIFY(static_cast<std::int64_t>(grid.coords.size()) < grid.columns * grid.rows);
    for (const PatchCoord &c : grid.coords) {
        const double side = static_cast<double>(grid.level0PatchSize);
        QVERIFY(map.tissueFraction(static_cast<double>(c.x), static_cast<double>(c.y), side, side) >= 0.25 - 1e-9);
    }
    // The kept patches cover about the detected tissue area (within a patch-wide band at the edges:
    // 21 patches of 512 px over one region of 3.9 Mpx, 1.40 times its area since the white balance
    // took the JPEG colour fringe off the mask, 1.38 before).
    const double covered = static_cast<double>(grid.coords.size()) * static_cast<double>(grid.level0PatchSize * grid.level0PatchSize);
    const double tissue = map.tissueFraction() * 4096.0 * 3072.0;
    qInfo("%zu patches cover %.0f px; tissue %.0f px", grid.coords.size(), covered, tissue);
    QVERIFY(covered > 0.6 * tissue && covered < 1.5 * tissue);
}

void TstPatchGrid::errorsAreReported()
{
    const fs::path path = m_slides.at(QStringLiteral("20x"));
    const std::unique_ptr<SlideSource> source = SlideSource::open(path);
    const TissueMap other(400, 200, 4, 2, std::vector<std::uint8_t>(8, 255), {});
    QCOMPARE(message([&] { PatchGrid::build(*source, &other, PatchGridParams{}); }),
             QStringLiteral("Cannot make patches for '%1': the tissue map is for a 400x200 slide, not 4096x3072")
                 .arg(QString::fromStdString(path.string())));
    PatchGridParams params;
    params.overlap = 1.0;
    QCOMPARE(message([&] { PatchGrid::build(*source, nullptr, params); }),
             QStringLiteral("Invalid patch grid settings: overlap must be at least 0 and below 1 (got 1)"));
    params = {};
    params.patchSize = 0;
    QCOMPARE(message([&] { PatchGrid::build(*source, nullptr, params); }),
             QStringLiteral("Invalid patch grid settings: patch size must be between 1 and 65536 pixels (got 0)"));
    params = {};
    params.targetMagnification = -5.0;
    QCOMPARE(message([&] { PatchGrid::build(*source, nullptr, params); }),
             QStringLiteral("Invalid patch grid settings: target magnification must be a positive number (got -5)"));
    params = {};
    params.minTissueFraction = 1.5;
    QCOMPARE(message([&] { PatchGrid::build(*source, nullptr, params); }),
             QStringLiteral("Invalid patch grid settings: minimum tissue fraction must be between 0 and 1 (got 1.5)"));
    // A patch larger than the slide: no patches, no error.
    params = {};
    params.targetMagnification = 1.0; // 5120 level-0 pixels
    const PatchGrid grid = PatchGrid::build(*source, nullptr, params);
    QVERIFY(grid.coords.empty());
    QCOMPARE(grid.columns, std::int64_t{0});
}

QTEST_GUILESS_MAIN(TstPatchGrid)
#include "tst_patchgrid.moc"
