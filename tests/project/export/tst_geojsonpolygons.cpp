// SPDX-License-Identifier: GPL-3.0-or-later
// readGeoJsonPolygons: Polygon and MultiPolygon geometries from collections, features and bare
// geometries (holes kept as rings), other types skipped, one clear error for bad files.
#include "project/export/geojsonpolygons.h"

#include "common/slidetestsupport.h"
#include "project/featuretestsupport.h"

#include <QtTest>

#include <fstream>

namespace fs = std::filesystem;
using namespace icmil::project;

class TstGeoJsonPolygons : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void readsPolygonsWithHoles()
    {
        const fs::path path = icmil::test::scratchDir("geojsonpolygons") / "tissue.geojson";
        std::ofstream(path) << R"({"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"objectType":"annotation"},"geometry":{"type":"Polygon","coordinates":[
                [[0,0],[100,0],[100,80],[0,80],[0,0]], [[10,10],[20,10],[20,20],[10,10]]]}},
            {"type":"Feature","geometry":{"type":"Point","coordinates":[5,5]}},
            {"type":"Feature","geometry":null},
            {"type":"Feature","geometry":{"type":"MultiPolygon","coordinates":[
                [[[200,200],[300,200],[300,300],[200,200]]], [[[400,0],[410,0],[410,10],[400,0]]]]}}]})";
        const std::vector<PolygonRings> polygons = readGeoJsonPolygons(path);
        QCOMPARE(polygons.size(), std::size_t{3});
        QCOMPARE(polygons[0].size(), std::size_t{2}); // outer + hole
        QCOMPARE(polygons[0][0].size(), std::size_t{5});
        QCOMPARE(polygons[0][0][2][0], 100.0);
        QCOMPARE(polygons[0][0][2][1], 80.0);
        QCOMPARE(polygons[2][0][1][0], 410.0);
    }

    void errorsNameTheFile()
    {
        const fs::path dir = icmil::test::scratchDir("geojsonpolygons-errors");
        QCOMPARE(icmil::test::projectErrorOf([&] { readGeoJsonPolygons(dir / "none.geojson"); }).toStdString(),
                 "Cannot read polygons from '" + (dir / "none.geojson").string() + "': no such file");
        std::ofstream(dir / "bad.geojson") << R"({"type":"Polygon","coordinates":[[[1],[2,3]]]})";
        QCOMPARE(icmil::test::projectErrorOf([&] { readGeoJsonPolygons(dir / "bad.geojson"); }).toStdString(),
                 "Cannot read polygons from '" + (dir / "bad.geojson").string() + "': a position is not [x, y]");
        std::ofstream(dir / "broken.geojson") << "{";
        QVERIFY(icmil::test::projectErrorOf([&] {
                    readGeoJsonPolygons(dir / "broken.geojson");
                }).startsWith(QStringLiteral("Cannot read polygons from")));
    }
};

QTEST_GUILESS_MAIN(TstGeoJsonPolygons)
#include "tst_geojsonpolygons.moc"
