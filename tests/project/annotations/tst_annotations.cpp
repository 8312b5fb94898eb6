// SPDX-License-Identifier: GPL-3.0-or-later
// Pathologists' annotations: QuPath GeoJSON and ASAP XML files written here in their real formats
// are read (classes, colours, holes, Camelyon16's groups), bad files give one clear message each
// while the others are imported, and patching with --roi / --exclude keeps exactly the patches
// expected on a slide that is tissue everywhere.
#include "common/annotationsamples.h"
#include "common/slidetestsupport.h"
#include "project/annotations/annotationimport.h"
#include "project/annotations/annotationset.h"
#include "project/export/attentionregions.h"
#include "project/features/featurestore.h"
#include "project/features/slidetiler.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"
#include "project/training/attentionstore.h"
#include "project/dataset/slidelist.h"
#include "slide/io/slidesource.h"

#include <QtTest>

#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>
#include <set>

namespace fs = std::filesystem;
using namespace icmil;
using namespace icmil::project;

namespace {

void writeText(const fs::path &path, const std::string &text)
{
    std::ofstream(path, std::ios::binary) << text;
}

template <typename F> QString errorOf(F &&f)
{
    try {
        f();
    } catch (const ProjectError &e) {
        return QString::fromUtf8(e.what());
    }
    return QStringLiteral("(no error)");
}

} // namespace

class TstAnnotations : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    fs::path m_slides;

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_annotations");
        fs::remove_all(m_dir / "slides");
        m_slides = m_dir / "slides";
        fs::create_directories(m_slides);
        // Tissue everywhere: 2048 x 1536, an 8 x 6 grid of 256-px patches.
        cv::Mat tissue(1536, 2048, CV_8UC3, cv::Scalar(200, 160, 220)); // BGR pink
        cv::randn(tissue, cv::Scalar(200, 160, 220), cv::Scalar(4, 4, 4));
        QVERIFY(cv::imwrite((m_slides / "case_a.png").string(), tissue));
        QVERIFY(cv::imwrite((m_slides / "case_b.png").string(), tissue));
    }

    void readsQuPathGeoJson()
    {
        const fs::path file = m_dir / "case_a.geojson";
        writeText(file, test::kQuPathGeoJson);
        const AnnotationSet set = readQuPathGeoJson(file, AnnotationFrame{2048, 1536, {0.0, 0.0}});
        QCOMPARE(set.annotations.size(), std::size_t{3});
        QCOMPARE(set.classNames(), (std::vector<std::string>{"Stroma", "Tumor"}));
        QCOMPARE(set.polygonCount(), std::size_t{4});
        const Annotation &tumour = set.annotations[0];
        QCOMPARE(tumour.name, std::string("tumour 1"));
        QCOMPARE(tumour.polygons[0].size(), std::size_t{2});    // outer ring and its hole
        QCOMPARE(tumour.polygons[0][0].size(), std::size_t{4}); // closed ring stored open
        QVERIFY((tumour.colour == std::array<int, 3>{200, 0, 0}));
        QVERIFY((set.annotations[1].colour == std::array<int, 3>{0, 128, 0})); // -16744448 = 0xFF008000
        QCOMPARE(int(set.annotations[2].kind), int(Annotation::Kind::Detection));
        QVERIFY(polygonContains(tumour.polygons[0], 200, 200));
        QVERIFY(!polygonContains(tumour.polygons[0], 500, 500)); // in the hole

        // An array of features and an offset (QuPath's coordinates of a slide cropped to its bounds).
        writeText(file,
                  R"([{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,10],[0,0]]]},"properties":{}}])");
        const AnnotationSet moved = readQuPathGeoJson(file, AnnotationFrame{2048, 1536, {100.0, 50.0}});
        QCOMPARE(moved.annotations[0].polygons[0][0][1][0], 110.0);
        QCOMPARE(moved.annotations[0].polygons[0][0][1][1], 50.0);

        // The project's copy reads back the same.
        writeText(file, test::kQuPathGeoJson);
        writeProjectAnnotations(m_dir / "copy.geojson", set);
        const AnnotationSet copy = readProjectAnnotations(m_dir / "copy.geojson");
        QCOMPARE(copy.annotations.size(), set.annotations.size());
        QCOMPARE(copy.annotations[0].polygons, set.annotations[0].polygons);
        QVERIFY(copy.annotations[1].colour == set.annotations[1].colour);
        QCOMPARE(int(copy.annotations[2].kind), int(Annotation::Kind::Detection));
    }

    void readsAsapXml()
    {
        const fs::path file = m_dir / "case_b.xml";
        writeText(file, test::kAsapXml);
        const AnnotationSet set = readAsapXml(file, AnnotationFrame{2048, 1536, {0.0, 0.0}});
        QCOMPARE(set.annotations.size(), std::size_t{3});
        QCOMPARE(set.annotations[0].className, std::string("Tumor"));     // Camelyon16's _0
        QCOMPARE(set.annotations[1].className, std::string("Exclusion")); // _2
        QCOMPARE(int(set.annotations[1].kind), int(Annotation::Kind::Exclusion));
        QCOMPARE(set.annotations[2].className, std::string("Pen"));
        // Points in Order, not in file order: 512,512 -> 1536,512 -> 1536,1280 -> 512,1280.
        QCOMPARE(set.annotations[0].polygons[0][0][1], (std::array<double, 2>{1536, 512}));
        QVERIFY((set.annotations[0].colour == std::array<int, 3>{0xF4, 0xFA, 0x58}));
        QVERIFY((set.annotations[2].colour == std::array<int, 3>{0, 0, 255})); // its group's
        // The exclusion survives the project's copy.
        writeProjectAnnotations(m_dir / "asap.geojson", set);
        QCOMPARE(int(readProjectAnnotations(m_dir / "asap.geojson").annotations[1].kind), int(Annotation::Kind::Exclusion));
    }

    void badFilesSayWhy()
    {
        const AnnotationFrame frame{2048, 1536, {0.0, 0.0}};
        const fs::path xml = m_dir / "broken.xml";
        writeText(xml, "<ASAP_Annotations><Annotations><Annotation Name=\"x\"></Annotations>");
        QVERIFY2(
            errorOf([&] { readAsapXml(xml, frame); })
                .startsWith(
                    QStringLiteral("Cannot read annotations from '%1': not valid XML (line 1: ").arg(QString::fromStdString(xml.string()))),
            qPrintable(errorOf([&] { readAsapXml(xml, frame); })));
        writeText(xml, "<Annotations/>");
        QVERIFY(errorOf([&] {
                    readAsapXml(xml, frame);
                }).endsWith(QStringLiteral("not an ASAP annotation file (its root element is not ASAP_Annotations)")));
        writeText(xml, R"(<ASAP_Annotations><Annotations><Annotation Name="d" Type="Dot" PartOfGroup="None"><Coordinates>
            <Coordinate Order="0" X="1" Y="1"/></Coordinates></Annotation></Annotations></ASAP_Annotations>)");
        QVERIFY(errorOf([&] {
                    readAsapXml(xml, frame);
                }).endsWith(QStringLiteral("annotation 1 ('d') is a Dot; only Polygon, Rectangle and Spline annotations bound patches")));
        writeText(xml, R"(<ASAP_Annotations><Annotations><Annotation Name="a" Type="Polygon" PartOfGroup="_0"><Coordinates>
            <Coordinate Order="0" X="1" Y="1"/><Coordinate Order="1" X="1x" Y="1"/><Coordinate Order="2" X="5" Y="9"/></Coordinates></Annotation></Annotations></ASAP_Annotations>)");
        QVERIFY(errorOf([&] { readAsapXml(xml, frame); }).endsWith(QStringLiteral("annotation 1 ('a')'s X is not a number ('1x')")));

        const fs::path json = m_dir / "bad.geojson";
        writeText(
            json,
            R"({"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[5,5]},"properties":{"name":"p"}}]})");
        QVERIFY(errorOf([&] {
                    readQuPathGeoJson(json, frame);
                }).endsWith(QStringLiteral("feature 1 ('p') is a Point; only Polygon and MultiPolygon annotations bound patches")));
        writeText(json,
                  R"({"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[4000,0],[4000,10],[0,0]]]},"properties":{}})");
        QVERIFY2(
            errorOf([&] { readQuPathGeoJson(json, frame); })
                .endsWith(QStringLiteral(
                    "annotation 1 has the point (4000, 0), outside the slide's 2048 x 1536 pixels: are these annotations of another slide?")),
            qPrintable(errorOf([&] { readQuPathGeoJson(json, frame); })));
        writeText(json, "{\"type\": ");
        QVERIFY(errorOf([&] { readQuPathGeoJson(json, frame); }).contains(QStringLiteral("parse error")));
    }

    void importMatchesSlidesAndGoesOnPastBadFiles()
    {
        const fs::path root = m_dir / "project";
        fs::remove_all(root);
        const fs::path from = m_dir / "from";
        fs::remove_all(from);
        fs::create_directories(from);
        writeText(from / "case_a.png.geojson", test::kQuPathGeoJson); // QuPath's name for an image's export
        writeText(from / "case_b.xml", test::kAsapXml);
        writeText(from / "case_c.xml", test::kAsapXml);          // no such slide
        writeText(from / "notes.txt", "not an annotation file"); // not looked at
        const SlideListing listing = listSlides(m_slides);
        // A patch file made before: importing removes it, so the next tiling uses the annotations.
        fs::create_directories(ProjectLayout(root).patchesDir());
        writeText(ProjectLayout(root).patchFile("case_b"), "old");

        const AnnotationImportReport report = importAnnotations(root, from, listing.slides);
        QCOMPARE(report.entries.size(), std::size_t{3});
        QCOMPARE(report.importedCount(), std::size_t{2});
        QCOMPARE(report.entries[0].slideId, std::string("case_a"));
        QVERIFY(report.entries[0].imported);
        QCOMPARE(report.entries[0].classNames, (std::vector<std::string>{"Stroma", "Tumor"}));
        QVERIFY(report.entries[1].imported);
        QCOMPARE(report.entries[1].annotations, std::size_t{3});
        QVERIFY(!report.entries[2].imported);
        QCOMPARE(report.entries[2].reason, std::string("no slide 'case_c' in the project"));
        QVERIFY(fs::exists(annotationFile(root, "case_a")));
        QVERIFY(fs::exists(annotationFile(root, "case_b")));
        QVERIFY(!fs::exists(ProjectLayout(root).patchFile("case_b")));

        QVERIFY(errorOf([&] {
                    importAnnotations(root, m_dir / "nothing-here", listing.slides);
                }).contains(QStringLiteral("no such file or folder")));
    }

    void roiAndExcludeKeepTheExpectedPatches()
    {
        const fs::path root = m_dir / "project"; // case_b's ASAP annotations imported above
        const ProjectLayout layout(root);
        TilingConfig config;
        config.tissue = slide::TissueDetectionParams::preset("bwh_biopsy");
        const auto source = slide::SlideSource::open(m_slides / "case_b.png");
        auto kept = [&](const TilingConfig &c) {
            std::set<std::pair<std::int64_t, std::int64_t>> out;
            for (const slide::PatchCoord &p : SlideTiler(layout, c).tile(*source, "case_b").grid.coords)
                out.insert({p.x, p.y});
            return out;
        };
        const auto all = kept(config);
        QCOMPARE(all.size(), std::size_t{48}); // tissue everywhere: 8 x 6

        // --roi Tumor: centres in the _0 polygon [512, 1536] x [512, 1280], not in the _2 one
        // [768, 1024]^2: columns 2-5 (centres 640..1408) and rows 2-4 (centres 640..1152), minus the
        // patch (3, 3) whose centre (896, 896) is in the exclusion.
        config.roiClasses = {"Tumor"};
        std::set<std::pair<std::int64_t, std::int64_t>> expected;
        for (int column = 2; column <= 5; ++column)
            for (int row = 2; row <= 4; ++row)
                if (!(column == 3 && row == 3))
                    expected.insert({column * 256, row * 256});
        QCOMPARE(kept(config), expected);

        // --exclude Pen: the pen rectangle [1700, 1800] x [100, 200] touches two patches of row 0,
        // columns 6 (1536-1792) and 7 (1792-2048), neither at its centre.
        config.roiClasses.clear();
        config.excludeClasses = {"Pen"};
        auto withoutPen = all;
        withoutPen.erase({1536, 0});
        withoutPen.erase({1792, 0});
        QCOMPARE(kept(config), withoutPen);

        // A class no annotation has: nothing kept, and the tiling says why.
        config.excludeClasses.clear();
        config.roiClasses = {"Lymph node"};
        const SlideTiling none = SlideTiler(layout, config).tile(*source, "case_b");
        QVERIFY(none.grid.coords.empty());
        QVERIFY2(
            none.noPatches.find("no tissue patch has its centre in an annotation of Lymph node (--roi); the slide's annotation classes: "
                                "Exclusion, Pen, Tumor.")
                != std::string::npos,
            none.noPatches.c_str());
        // The settings differ, so each of these re-tiled (the key names the classes).
        QVERIFY(tissueSettingsKey(config).find("\"roi\":[\"Lymph node\"]") != std::string::npos);
        QVERIFY(tissueSettingsKey(TilingConfig{}).find("roi") == std::string::npos);
    }

    void attentionIsScoredAgainstAnnotations()
    {
        // case_b's Tumor (_0 minus the _2 exclusion), imported above; an attention map over its
        // 8 x 6 grid that is high exactly on the patches centred in tumour scores patch AUC 1.
        const fs::path root = m_dir / "project";
        const AnnotationSet set = readProjectAnnotations(annotationFile(root, "case_b"));
        QVERIFY(hasAnnotationClass(set, "tumor")); // case-insensitive
        QVERIFY(hasAnnotationClass(set, "Tumour"));
        QVERIFY(!hasAnnotationClass(set, "Exclusion")); // exclusions are not a class to find
        SlideAttention attention;
        attention.slideId = "case_b";
        attention.patchSizeLevel0 = 256;
        attention.classNames = {"normal", "tumor"};
        for (std::int64_t y = 0; y < 1536; y += 256)
            for (std::int64_t x = 0; x < 2048; x += 256)
                attention.coords.push_back({x, y});
        const std::vector<int> labels = annotatedPatchLabels(set, "Tumor", attention.coords, 256);
        QCOMPARE(std::count(labels.begin(), labels.end(), 1), 11L); // 4 x 3 minus the excluded one
        for (int label : labels)
            attention.attention.push_back(label ? 0.9f : 0.1f);
        attention.attentionRaw = attention.attention;
        const fs::path dir = m_dir / "attention";
        fs::remove_all(dir);
        fs::create_directories(dir);
        writeAttentionFile(dir / "case_b.h5", attention);
        LocalisationScore score = localiseAgainstAnnotations(root, dir, "tumor");
        QCOMPARE(score.slides, 1); // case_a's Tumor annotations have no attention file here
        QCOMPARE(score.patchAuc, 1.0);
        QCOMPARE(score.topFraction, 1.0);
        // Inverted attention: AUC 0.
        for (float &a : attention.attention)
            a = 1.0f - a;
        writeAttentionFile(dir / "case_b.h5", attention);
        score = localiseAgainstAnnotations(root, dir, "tumor");
        QCOMPARE(score.patchAuc, 0.0);
        // A class nobody annotated: nothing scored.
        QCOMPARE(localiseAgainstAnnotations(root, dir, "necrosis").slides, 0);
    }

    void attentionRegionsMergeTouchingPatches()
    {
        // A 10 x 6 lattice of 256-px patches. High attention (1) on: a 3 x 3 ring around one low
        // patch (a region with a hole), an L of 3 patches, and one patch alone; 0 elsewhere.
        SlideAttention slide;
        slide.slideId = "lattice";
        std::set<std::pair<int, int>> high;
        for (int x = 1; x <= 3; ++x)
            for (int y = 1; y <= 3; ++y)
                if (!(x == 2 && y == 2))
                    high.insert({x, y});
        high.insert({6, 1});
        high.insert({6, 2});
        high.insert({7, 2});
        high.insert({9, 5});
        for (int y = 0; y < 6; ++y)
            for (int x = 0; x < 10; ++x) {
                slide.coords.push_back({x * 256, y * 256});
                slide.attentionRaw.push_back(high.contains({x, y}) ? 1.0f : 0.0f);
            }
        slide.attention = slide.attentionRaw;
        // Every high patch ranks above every low one: rank >= 0.9 selects exactly the 12 of them.
        const AnnotationSet regions = attentionRegions(slide, 256, 0.9);
        QCOMPARE(regions.annotations.size(), std::size_t{3});
        auto area = [](const Ring &ring) {
            double twice = 0.0;
            for (std::size_t i = 0, n = ring.size(); i < n; ++i)
                twice += ring[i][0] * ring[(i + 1) % n][1] - ring[(i + 1) % n][0] * ring[i][1];
            return std::abs(twice) / 2.0;
        };
        std::vector<std::pair<std::size_t, double>> shapes; // holes, area minus holes in patches
        for (const Annotation &a : regions.annotations) {
            QCOMPARE(a.className, std::string("High attention"));
            QCOMPARE(a.polygons.size(), std::size_t{1});
            double patches = area(a.polygons[0][0]);
            for (std::size_t h = 1; h < a.polygons[0].size(); ++h)
                patches -= area(a.polygons[0][h]);
            shapes.push_back({a.polygons[0].size() - 1, patches / (256.0 * 256.0)});
        }
        std::sort(shapes.begin(), shapes.end(), [](const auto &a, const auto &b) { return a.second < b.second; });
        // Outlines run 1/32 of a patch inside the patch edges: areas within 13% of the patch counts.
        QCOMPARE(shapes[0].first, std::size_t{0});
        QVERIFY(std::abs(shapes[0].second - 1.0) < 0.13);
        QCOMPARE(shapes[1].first, std::size_t{0});
        QVERIFY(std::abs(shapes[1].second - 3.0) < 0.3);
        QCOMPARE(shapes[2].first, std::size_t{1}); // the ring keeps its hole
        QVERIFY2(std::abs(shapes[2].second - 8.0) < 0.8, qPrintable(QString::number(shapes[2].second)));
        // The centre of the hole is outside the ring's polygon, the ring's patches inside.
        const auto ring = std::find_if(regions.annotations.begin(), regions.annotations.end(),
                                       [](const Annotation &a) { return a.polygons[0].size() == 2; });
        QVERIFY(!polygonContains(ring->polygons[0], 2 * 256 + 128, 2 * 256 + 128));
        QVERIFY(polygonContains(ring->polygons[0], 1 * 256 + 128, 1 * 256 + 128));

        // Written as QuPath GeoJSON, read back the same.
        const fs::path file = m_dir / "regions.geojson";
        QCOMPARE(writeAttentionRegionsGeoJson(file, slide, 256, 0.9), std::size_t{3});
        QCOMPARE(readProjectAnnotations(file).polygonCount(), std::size_t{3});
    }
};

QTEST_GUILESS_MAIN(TstAnnotations)
#include "tst_annotations.moc"
