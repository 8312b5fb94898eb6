// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/slidetestsupport.h"

#include "slide/slideerror.h"
#include "slide/io/slidesource.h"
#include "slide/tissue/tissuecontourfilter.h"
#include "slide/tissue/tissuedetector.h"
#include "slide/tissue/tissuegeojson.h"
#include "slide/tissue/tissuemap.h"
#include "slide/tissue/tissuemaskpng.h"

#include <QtTest>

#include <QFile>
#include <QImage>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPainter>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

using namespace icmil::slide;
namespace fs = std::filesystem;

namespace {

bool insideRing(const QJsonArray &ring, double x, double y)
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

std::uint8_t maskAt(const TissueMap &map, int x, int y)
{
    return map.mask()[static_cast<std::size_t>(y) * static_cast<std::size_t>(map.maskWidth()) + static_cast<std::size_t>(x)];
}

} // namespace

// TissueMap (tissue fractions), TissueContourFilter (CLAM's _filter_contours) and the two
// writers (GeoJSON, mask PNG).
class TstTissueMap : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void tissueFractionIsExactOnTheMask();
    void contourFilterKeepsClamsRegionsAndHoles();
    void geoJsonIsValidAndLevelZero();
    void maskPngIsWritten();
    void writeErrorsAreReported();

private:
    fs::path m_scratch;
    TissueMap m_map; // of a 3000 x 2000 image with two pieces of "tissue", one with a hole
};

void TstTissueMap::initTestCase()
{
    m_scratch = icmil::test::scratchDir("tst_tissuemap");
    QImage image(3000, 2000, QImage::Format_RGB32);
    image.fill(qRgb(245, 245, 245));
    {
        QPainter painter(&image);
        painter.setPen(Qt::NoPen);
        painter.setBrush(QColor(200, 120, 170));
        painter.drawEllipse(QPointF(1200, 1000), 900, 700);
        painter.drawEllipse(QPointF(2600, 1000), 300, 500);
        painter.setBrush(QColor(245, 245, 245));
        painter.drawEllipse(QPointF(1300, 1000), 400, 250); // 314000 px: above a_h = 1 x 512^2
    }
    const fs::path path = m_scratch / "two-pieces.png";
    QVERIFY(image.save(QString::fromStdString(path.string()), "PNG", 80));
    const std::unique_ptr<SlideSource> slide = SlideSource::open(path);
    TissueDetectionParams params = TissueDetectionParams::preset("bwh_biopsy");
    params.maxMaskPixels = 100000; // read shrunk by 8: mask 375 x 250, one pixel per 8 x 8
    m_map = TissueDetector(params).detect(*slide);
    QCOMPARE(m_map.maskWidth(), 375);
    QCOMPARE(m_map.maskHeight(), 250);
    QCOMPARE(m_map.downsampleX(), 8.0);
}

void TstTissueMap::tissueFractionIsExactOnTheMask()
{
    // 4 x 2 mask over a 400 x 200 slide: the left half is tissue.
    std::vector<std::uint8_t> mask{255, 255, 0, 0, 1, 7, 0, 0};
    const TissueMap map(400, 200, 4, 2, mask, {});
    QCOMPARE(map.downsampleX(), 100.0);
    QCOMPARE(map.downsampleY(), 100.0);
    QCOMPARE(map.mask()[5], std::uint8_t{255}); // any non-zero byte is tissue
    QCOMPARE(map.tissueFraction(), 0.5);
    QCOMPARE(map.tissueFraction(0, 0, 200, 200), 1.0);
    QCOMPARE(map.tissueFraction(200, 0, 200, 200), 0.0);
    QCOMPARE(map.tissueFraction(100, 0, 200, 100), 0.5);
    QCOMPARE(map.tissueFraction(150, 50, 100, 100), 0.5); // cuts mask pixels pro rata
    QCOMPARE(map.tissueFraction(175, 0, 100, 200), 0.25);
    QCOMPARE(map.tissueFraction(-100, 0, 200, 200), 0.5); // outside the slide counts as background
    QCOMPARE(map.tissueFraction(0, 0, 0, 100), 0.0);
    QCOMPARE(map.tissueFraction(0, 0, 400, 200), 0.5);
    QVERIFY(!map.isEmpty());
    QVERIFY(TissueMap().isEmpty());
    QCOMPARE(TissueMap().tissueFraction(0, 0, 10, 10), 0.0);
    try {
        TissueMap(400, 200, 4, 2, std::vector<std::uint8_t>(7), {});
        QFAIL("a short mask was accepted");
    } catch (const SlideError &error) {
        QCOMPARE(QString::fromUtf8(error.what()), QStringLiteral("Cannot make a tissue map: the mask holds 7 bytes, not 4x2"));
    }
}

void TstTissueMap::contourFilterKeepsClamsRegionsAndHoles()
{
    // Mask pixels of 16 x 16 level-0 pixels: one CLAM reference patch (512^2 level-0 pixels) is
    // 1024 mask pixels.
    const int width = 300, height = 200;
    const double reference = 512.0 * 512.0;
    std::vector<std::uint8_t> binary(static_cast<std::size_t>(width * height), 0);
    auto fill = [&](int x0, int y0, int x1, int y1, std::uint8_t value) {
        for (int y = y0; y < y1; ++y)
            for (int x = x0; x < x1; ++x)
                binary[static_cast<std::size_t>(y * width + x)] = value;
    };
    // Contour areas: an outer contour runs through the boundary pixel centres (side n - 1); a
    // hole's runs through the tissue pixels around it, cutting its four corners (side n + 1,
    // minus 4 half-pixel triangles).
    fill(10, 10, 150, 150, 255);   // big region, contour area 139^2 = 19321
    fill(20, 20, 60, 60, 0);       // hole A: 41^2 - 2 = 1679 > 1024
    fill(80, 20, 120, 50, 0);      // hole B: 41 x 31 - 2 = 1269 > 1024
    fill(20, 90, 40, 110, 0);      // hole C: 21^2 - 2 = 439 < 1024 (below a_h = 1)
    fill(80, 80, 130, 130, 0);     // hole D: 51^2 - 2 = 2599, the largest
    fill(95, 95, 115, 115, 255);   // island inside D: 19^2 = 361 (below a_t = 1)
    fill(200, 20, 245, 65, 255);   // separate region: 44^2 = 1936 > 1024
    fill(200, 120, 220, 140, 255); // speck: 19^2 = 361, dropped

    TissueContourFilter::Limits params;
    params.minTissueArea = reference;
    params.minHoleArea = reference;
    params.maxHoles = 2; // keeps D and A (the two largest); B is above a_h but beyond max_n_holes
    const TissueContourFilter::Result result = TissueContourFilter::apply(binary, width, height, 16.0, 16.0, params);
    auto at = [&](int x, int y) { return result.mask[static_cast<std::size_t>(y * width + x)]; };

    QCOMPARE(result.regions.size(), std::size_t{2});
    QCOMPARE(result.regions[0].holes.size(), std::size_t{2});
    QCOMPARE(result.regions[1].holes.size(), std::size_t{0});
    QCOMPARE(at(12, 12), std::uint8_t{255});  // region interior
    QCOMPARE(at(40, 40), std::uint8_t{0});    // kept hole A
    QCOMPARE(at(19, 40), std::uint8_t{255});  // the tissue pixel bordering hole A survives
    QCOMPARE(at(100, 30), std::uint8_t{255}); // hole B: beyond max_n_holes, filled
    QCOMPARE(at(30, 100), std::uint8_t{255}); // hole C: below a_h, filled
    QCOMPARE(at(90, 90), std::uint8_t{0});    // kept hole D
    QCOMPARE(at(105, 105), std::uint8_t{0});  // island in D below a_t: dropped
    QCOMPARE(at(220, 40), std::uint8_t{255}); // the separate region
    QCOMPARE(at(210, 130), std::uint8_t{0});  // the speck
    // Every mask pixel outside the filtered shapes is unchanged from the input.
    QCOMPARE(at(5, 5), std::uint8_t{0});
    QCOMPARE(at(149, 149), std::uint8_t{255});

    // Polygons in level-0 coordinates through the boundary pixel centres.
    double minX = 1e9, minY = 1e9, maxX = 0, maxY = 0;
    for (const auto &[x, y] : result.regions[0].outer) {
        minX = std::min(minX, x);
        minY = std::min(minY, y);
        maxX = std::max(maxX, x);
        maxY = std::max(maxY, y);
    }
    QCOMPARE(minX, 10.5 * 16);
    QCOMPARE(minY, 10.5 * 16);
    QCOMPARE(maxX, 149.5 * 16);
    QCOMPARE(maxY, 149.5 * 16);
    // Area: outline minus the kept holes (D 2599, A 1679), in level-0 pixels.
    QCOMPARE(result.regions[0].areaPixels, (19321.0 - 2599.0 - 1679.0) * 256.0);

    // CLAM's a_t counts the region minus ALL its holes: 19321 - 1679 - 1269 - 439 - 2599 = 13335
    // mask pixels = 13.022 reference patches. a_t = 13.02 keeps it, a_t = 13.03 drops it.
    params.minTissueArea = 13.02 * reference;
    QCOMPARE(TissueContourFilter::apply(binary, width, height, 16.0, 16.0, params).regions.size(), std::size_t{1});
    params.minTissueArea = 13.03 * reference;
    QCOMPARE(TissueContourFilter::apply(binary, width, height, 16.0, 16.0, params).regions.size(), std::size_t{0});
}

void TstTissueMap::geoJsonIsValidAndLevelZero()
{
    const TissueMap &map = m_map;
    QCOMPARE(map.regions().size(), std::size_t{2});
    QCOMPARE(map.regions()[0].holes.size(), std::size_t{1});
    QCOMPARE(map.regions()[1].holes.size(), std::size_t{0});
    const fs::path path = m_scratch / "tissue.geojson";
    TissueGeoJson::write(map, path);
    QVERIFY(!fs::exists(path.string() + ".partial"));

    QFile file(QString::fromStdString(path.string()));
    QVERIFY(file.open(QIODevice::ReadOnly));
    QJsonParseError parseError;
    const QJsonDocument document = QJsonDocument::fromJson(file.readAll(), &parseError);
    QCOMPARE(parseError.error, QJsonParseError::NoError);
    const QJsonObject root = document.object();
    QCOMPARE(root.value(QStringLiteral("type")).toString(), QStringLiteral("FeatureCollection"));
    const QJsonArray features = root.value(QStringLiteral("features")).toArray();
    QCOMPARE(static_cast<std::size_t>(features.size()), map.regions().size());

    double maxX = 0.0, maxY = 0.0;
    for (qsizetype f = 0; f < features.size(); ++f) {
        const QJsonObject feature = features[f].toObject();
        QCOMPARE(feature.value(QStringLiteral("type")).toString(), QStringLiteral("Feature"));
        const QJsonObject properties = feature.value(QStringLiteral("properties")).toObject();
        QCOMPARE(properties.value(QStringLiteral("classification")).toObject().value(QStringLiteral("name")).toString(),
                 QStringLiteral("Tissue"));
        QCOMPARE(properties.value(QStringLiteral("objectType")).toString(), QStringLiteral("annotation"));
        const QJsonObject geometry = feature.value(QStringLiteral("geometry")).toObject();
        QCOMPARE(geometry.value(QStringLiteral("type")).toString(), QStringLiteral("Polygon"));
        const QJsonArray rings = geometry.value(QStringLiteral("coordinates")).toArray();
        const TissueRegion &region = map.regions()[static_cast<std::size_t>(f)];
        QCOMPARE(static_cast<std::size_t>(rings.size()), 1 + region.holes.size());
        for (const QJsonValue &ringValue : rings) {
            const QJsonArray ring = ringValue.toArray();
            QVERIFY(ring.size() >= 4);
            QCOMPARE(ring.first().toArray(), ring.last().toArray()); // closed
            for (const QJsonValue &point : ring) {
                const double x = point.toArray()[0].toDouble(), y = point.toArray()[1].toDouble();
                QVERIFY(x >= 0.0 && x <= static_cast<double>(map.slideWidth()));
                QVERIFY(y >= 0.0 && y <= static_cast<double>(map.slideHeight()));
                maxX = std::max(maxX, x);
                maxY = std::max(maxY, y);
            }
        }
        QCOMPARE(rings[0].toArray().size(), static_cast<qsizetype>(region.outer.size() + 1));
        QCOMPARE(rings[0].toArray()[0].toArray()[0].toDouble(), region.outer[0].first);
    }
    // Level-0 coordinates, not mask pixels: the tissue reaches well beyond the 375 x 250 mask.
    QVERIFY(maxX > 2800.0 && maxY > 1600.0);
    QVERIFY(maxX < 2910.0 && maxY < 1710.0);

    // Every mask pixel deep inside tissue lies inside some outer ring and outside its holes.
    int checked = 0;
    for (int y = 2; y < map.maskHeight() - 2; y += 7) {
        for (int x = 2; x < map.maskWidth() - 2; x += 7) {
            bool deep = true;
            for (int dy = -2; dy <= 2 && deep; ++dy)
                for (int dx = -2; dx <= 2 && deep; ++dx)
                    deep = maskAt(map, x + dx, y + dy) != 0;
            if (!deep)
                continue;
            const double px = (x + 0.5) * map.downsampleX(), py = (y + 0.5) * map.downsampleY();
            bool inside = false;
            for (const QJsonValue &feature : features) {
                const QJsonArray rings
                    = feature.toObject().value(QStringLiteral("geometry")).toObject().value(QStringLiteral("coordinates")).toArray();
                bool here = insideRing(rings[0].toArray(), px, py);
                for (qsizetype h = 1; h < rings.size() && here; ++h)
                    here = !insideRing(rings[h].toArray(), px, py);
                inside = inside || here;
            }
            QVERIFY2(inside, qPrintable(QStringLiteral("mask pixel %1,%2").arg(x).arg(y)));
            ++checked;
        }
    }
    QVERIFY(checked > 100);
    // The hole's centre is tissue-free in the polygons too.
    const QJsonArray first
        = features[0].toObject().value(QStringLiteral("geometry")).toObject().value(QStringLiteral("coordinates")).toArray();
    QVERIFY(insideRing(first[0].toArray(), 1300.0, 1000.0));
    QVERIFY(insideRing(first[1].toArray(), 1300.0, 1000.0));
}

void TstTissueMap::maskPngIsWritten()
{
    const TissueMap &map = m_map;
    const fs::path path = m_scratch / "tissue_mask.png";
    TissueMaskPng::write(map, path);
    QVERIFY(!fs::exists(path.string() + ".partial"));
    QImage image(QString::fromStdString(path.string()));
    QCOMPARE(image.width(), map.maskWidth());
    QCOMPARE(image.height(), map.maskHeight());
    image = image.convertToFormat(QImage::Format_Grayscale8);
    int differences = 0;
    for (int y = 0; y < image.height(); ++y)
        for (int x = 0; x < image.width(); ++x)
            differences += image.constScanLine(y)[x] != maskAt(map, x, y);
    QCOMPARE(differences, 0);
    QCOMPARE(TissueMaskPng::encode(map).size(), static_cast<std::size_t>(fs::file_size(path)));
}

void TstTissueMap::writeErrorsAreReported()
{
    const TissueMap map(400, 200, 4, 2, std::vector<std::uint8_t>(8, 255), {});
    const fs::path missing = m_scratch / "no-such-folder" / "tissue.geojson";
    try {
        TissueGeoJson::write(map, missing);
        QFAIL("writing into a missing folder succeeded");
    } catch (const SlideError &error) {
        QCOMPARE(
            QString::fromUtf8(error.what()),
            QStringLiteral("Cannot write tissue GeoJSON '%1': No such file or directory").arg(QString::fromStdString(missing.string())));
    }
    const fs::path missingPng = m_scratch / "no-such-folder" / "mask.png";
    try {
        TissueMaskPng::write(map, missingPng);
        QFAIL("writing into a missing folder succeeded");
    } catch (const SlideError &error) {
        QCOMPARE(
            QString::fromUtf8(error.what()),
            QStringLiteral("Cannot write tissue mask '%1': No such file or directory").arg(QString::fromStdString(missingPng.string())));
    }
    QVERIFY(!fs::exists(m_scratch / "no-such-folder"));
}

QTEST_GUILESS_MAIN(TstTissueMap)
#include "tst_tissuemap.moc"
