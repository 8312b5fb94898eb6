// SPDX-License-Identifier: GPL-3.0-or-later
// QuPath's origin for a slide cropped to its OpenSlide bounds: the offset comes from the slide's
// bounds properties (a slide source that carries them, as MIRAX files do), a project's slide is
// found through its settings, and what the exports write for such a slide (attention detections,
// attention and instance-score regions) is level-0 minus the offset, so that importing it as
// QuPath GeoJSON against the same slide gives back the level-0 coordinates.
#include "common/slidetestsupport.h"
#include "project/annotations/annotationset.h"
#include "project/annotations/qupathoffset.h"
#include "project/export/attentiongeojson.h"
#include "project/export/attentionregions.h"
#include "project/training/attentionstore.h"
#include "slide/io/slidesource.h"

#include <QtTest>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace icmil;
using namespace icmil::project;

namespace {

// A slide whose properties are given: OpenSlide's bounds of a MIRAX file, say.
class PropertiesSource : public slide::SlideSource {
public:
    explicit PropertiesSource(std::map<std::string, std::string> properties)
        : SlideSource("cropped.mrxs", metadataOf(std::move(properties)))
    { }
    std::string backendName() const override { return "properties"; }

protected:
    slide::RgbaImage doReadRegion(int, std::int64_t, std::int64_t, int w, int h) const override { return slide::RgbaImage(w, h); }
    slide::RgbaImage doReadAssociatedImage(const std::string &) const override { return {}; }

private:
    static slide::SlideMetadata metadataOf(std::map<std::string, std::string> properties)
    {
        slide::SlideMetadata metadata;
        metadata.vendor = "mirax";
        metadata.levels = {{kWidth, kHeight, 1.0}};
        metadata.properties = std::move(properties);
        return metadata;
    }

public:
    static constexpr std::int64_t kWidth = 8000;
    static constexpr std::int64_t kHeight = 6000;
};

// A 6 x 4 lattice of 256-pixel patches from (2048, 1024): attention high on a 2 x 2 block, the
// instance view's last class high on a 3-patch L.
SlideAttention lattice()
{
    SlideAttention slide;
    slide.slideId = "cropped";
    slide.patchSizeLevel0 = 256;
    slide.classNames = {"normal", "tumor"};
    slide.probabilities = {0.3, 0.7};
    for (int y = 0; y < 4; ++y)
        for (int x = 0; x < 6; ++x) {
            slide.coords.push_back({2048 + x * 256, 1024 + y * 256});
            const bool attended = (x == 1 || x == 2) && (y == 1 || y == 2);
            slide.attentionRaw.push_back(attended ? 1.0f : 0.0f);
            const bool positive = (x == 4 && y == 0) || (x == 4 && y == 1) || (x == 5 && y == 1);
            slide.instanceScores.push_back(positive ? 0.125f : 0.875f);
            slide.instanceScores.push_back(positive ? 0.875f : 0.125f);
        }
    slide.attention = slide.attentionRaw;
    return slide;
}

nlohmann::json readJson(const fs::path &path)
{
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

} // namespace

class TstQuPathOffset : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    const std::array<double, 2> m_offset{1200.0, 800.0};

    AnnotationFrame frame() const { return AnnotationFrame{PropertiesSource::kWidth, PropertiesSource::kHeight, m_offset}; }

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_qupathoffset");
        fs::remove_all(m_dir / "project");
    }

    void theOffsetIsTheSlidesBounds()
    {
        const PropertiesSource cropped({{"openslide.bounds-x", "1200"}, {"openslide.bounds-y", "800"}, {"openslide.vendor", "mirax"}});
        QVERIFY((quPathOffset(cropped) == std::array<double, 2>{1200.0, 800.0}));
        QVERIFY((quPathOffset(PropertiesSource({})) == std::array<double, 2>{0.0, 0.0}));
        QVERIFY((quPathOffset(PropertiesSource({{"openslide.bounds-x", "wide"}, {"openslide.bounds-y", "64"}}))
                 == std::array<double, 2>{0.0, 64.0}));
    }

    void aProjectSlideIsFoundThroughTheProjectsSettings()
    {
        // A project the CLI made (no icmil-project.json): its slides are in <root>/slides.
        const fs::path root = m_dir / "project";
        fs::create_directories(root / "slides");
        QVERIFY(cv::imwrite((root / "slides" / "case_a.png").string(), cv::Mat(64, 64, CV_8UC3, cv::Scalar(200, 160, 220))));
        const std::map<std::string, fs::path> files = projectSlideFiles(root);
        QCOMPARE(files.size(), std::size_t{1});
        QCOMPARE(files.at("case_a"), root / "slides" / "case_a.png");
        // A plain image has no bounds; a file that is not there has no offset at all.
        QVERIFY((quPathOffsetOfFile(files.at("case_a")) == std::array<double, 2>{0.0, 0.0}));
        QVERIFY(!quPathOffsetOfFile(root / "slides" / "missing.svs").has_value());
    }

    void detectionsAreInQuPathsCoordinates()
    {
        const fs::path path = m_dir / "detections.geojson";
        const SlideAttention slide = lattice();
        writeAttentionGeoJson(path, slide, 256, m_offset);
        const nlohmann::json features = readJson(path).at("features");
        QCOMPARE(features.size(), slide.coords.size());
        const auto ring = features[0].at("geometry").at("coordinates")[0].get<std::vector<std::array<std::int64_t, 2>>>();
        QCOMPARE(ring.front(), (std::array<std::int64_t, 2>{2048 - 1200, 1024 - 800}));
        QCOMPARE(ring[2], (std::array<std::int64_t, 2>{2048 + 256 - 1200, 1024 + 256 - 800}));
        // The instance view travels as a measurement: the last class's probability.
        QCOMPARE(features[0].at("properties").at("measurements").at("instance_score").get<double>(), 0.125);
        QCOMPARE(features[4].at("properties").at("measurements").at("instance_score").get<double>(), 0.875);

        // Imported against the same slide (QuPath's coordinates plus its offset): level-0 again.
        const AnnotationSet back = readQuPathGeoJson(path, frame());
        QCOMPARE(back.annotations.size(), slide.coords.size());
        for (std::size_t i = 0; i < slide.coords.size(); ++i) {
            const double x = static_cast<double>(slide.coords[i][0]);
            const double y = static_cast<double>(slide.coords[i][1]);
            QCOMPARE(back.annotations[i].polygons[0][0], (Ring{{x, y}, {x + 256, y}, {x + 256, y + 256}, {x, y + 256}}));
        }
    }

    void regionsRoundTripToLevel0()
    {
        const SlideAttention slide = lattice();
        const fs::path path = m_dir / "regions.geojson";
        QCOMPARE(writeAttentionRegionsGeoJson(path, slide, 256, 0.9, m_offset), std::size_t{1});
        const AnnotationSet level0 = attentionRegions(slide, 256, 0.9);
        // In the file: level-0 minus the offset.
        const auto written = readJson(path).at("features")[0].at("geometry").at("coordinates")[0][0].get<std::array<double, 2>>();
        QCOMPARE(written[0], level0.annotations[0].polygons[0][0][0][0] - 1200.0);
        QCOMPARE(written[1], level0.annotations[0].polygons[0][0][0][1] - 800.0);
        // Imported back through the QuPath reader with the slide's offset: the level-0 outline.
        const AnnotationSet back = readAnnotationFile(path, frame());
        QCOMPARE(back.annotations.size(), std::size_t{1});
        QCOMPARE(back.annotations[0].polygons, level0.annotations[0].polygons);
        QVERIFY(polygonContains(back.annotations[0].polygons[0], 2048 + 256 + 128, 1024 + 256 + 128));

        // The instance view's regions: the three patches whose tumour probability is >= 0.5.
        const fs::path instance = m_dir / "instance.geojson";
        QCOMPARE(writeAttentionRegionsGeoJson(instance, slide, 256, 0.5, m_offset, RegionMap::InstanceScore), std::size_t{1});
        const AnnotationSet instanceBack = readAnnotationFile(instance, frame());
        QCOMPARE(instanceBack.annotations[0].className, std::string("High instance score"));
        QCOMPARE(instanceBack.annotations[0].polygons, instanceScoreRegions(slide, 256, 0.5).annotations[0].polygons);
        const PolygonRings &l = instanceBack.annotations[0].polygons[0];
        QVERIFY(polygonContains(l, 2048 + 4 * 256 + 128, 1024 + 128));
        QVERIFY(polygonContains(l, 2048 + 5 * 256 + 128, 1024 + 256 + 128));
        QVERIFY(!polygonContains(l, 2048 + 5 * 256 + 128, 1024 + 128));

        // An attention file from before instance scores cannot outline them.
        SlideAttention old = slide;
        old.instanceScores.clear();
        try {
            instanceScoreRegions(old, 256, 0.5);
            QFAIL("no error");
        } catch (const std::exception &e) {
            QCOMPARE(QString::fromUtf8(e.what()),
                     QStringLiteral("Slide 'cropped' has no instance scores (its attention file was written before them: predict again)"));
        }
    }
};

QTEST_GUILESS_MAIN(TstQuPathOffset)
#include "tst_qupathoffset.moc"
