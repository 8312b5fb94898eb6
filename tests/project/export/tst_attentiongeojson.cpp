// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/export/attentiongeojson.h"
#include "project/projecterror.h"

#include "common/slidetestsupport.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <filesystem>
#include <fstream>
#include <functional>

using namespace icmil::project;
namespace fs = std::filesystem;

namespace {

// Four 512-pixel patches; raw scores with a tie (0.5, 0.5): ranks 0, 0.5, 0.5, 1 over n - 1 = 3.
SlideAttention fourPatches()
{
    SlideAttention slide;
    slide.slideId = "slide-7";
    slide.coords = {{1024, 2048}, {1536, 2048}, {1024, 2560}, {4096, 512}};
    slide.attentionRaw = {-1.25f, 0.5f, 0.5f, 2.0f};
    slide.attention = {0.1f, 0.2f, 0.2f, 0.5f};
    slide.patchSizeLevel0 = 512;
    return slide;
}

nlohmann::json readJson(const fs::path &path)
{
    std::ifstream in(path);
    return nlohmann::json::parse(in);
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

} // namespace

class TstAttentionGeoJson : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;

private Q_SLOTS:
    void initTestCase() { m_dir = icmil::test::scratchDir("tst_attentiongeojson"); }

    void writesOneDetectionPerPatch()
    {
        const fs::path path = m_dir / "slide-7.geojson";
        writeAttentionGeoJson(path, fourPatches(), 512);
        QVERIFY(!fs::exists(m_dir / "slide-7.geojson.partial"));
        const nlohmann::json doc = readJson(path);
        QCOMPARE(doc.at("type").get<std::string>(), std::string("FeatureCollection"));
        const nlohmann::json &features = doc.at("features");
        QCOMPARE(features.size(), std::size_t{4});

        const nlohmann::json &first = features[0];
        QCOMPARE(first.at("type").get<std::string>(), std::string("Feature"));
        QCOMPARE(first.at("geometry").at("type").get<std::string>(), std::string("Polygon"));
        const auto ring = first.at("geometry").at("coordinates")[0].get<std::vector<std::array<std::int64_t, 2>>>();
        QCOMPARE(ring, (std::vector<std::array<std::int64_t, 2>>{{1024, 2048}, {1536, 2048}, {1536, 2560}, {1024, 2560}, {1024, 2048}}));
        const nlohmann::json &properties = first.at("properties");
        QCOMPARE(properties.at("objectType").get<std::string>(), std::string("detection"));
        QCOMPARE(properties.at("name").get<std::string>(), std::string("Patch 0"));
        const nlohmann::json &measurements = properties.at("measurements");
        QVERIFY(measurements.is_object()); // QuPath 0.4+: a name -> value map
        QCOMPARE(measurements.size(), std::size_t{3});
        QCOMPARE(measurements.at("attention").get<double>(), 0.1); // the float's shortest decimal
        QCOMPARE(measurements.at("attention_raw").get<double>(), -1.25);
        QCOMPARE(measurements.at("attention_rank").get<double>(), 0.0);

        std::vector<double> ranks;
        for (const nlohmann::json &feature : features) {
            ranks.push_back(feature.at("properties").at("measurements").at("attention_rank").get<double>());
            const auto points = feature.at("geometry").at("coordinates")[0].get<std::vector<std::array<std::int64_t, 2>>>();
            QCOMPARE(points.size(), std::size_t{5});
            QCOMPARE(points.front(), points.back()); // closed ring
            QCOMPARE(points[2][0] - points[0][0], std::int64_t{512});
            QCOMPARE(points[2][1] - points[0][1], std::int64_t{512});
        }
        QCOMPARE(ranks, (std::vector<double>{0.0, 0.5, 0.5, 1.0}));
        QCOMPARE(features[3].at("properties").at("name").get<std::string>(), std::string("Patch 3"));
        QCOMPARE(features[3].at("properties").at("measurements").at("attention").get<double>(), 0.5);
    }

    void aCroppedSlideHasQuPathsCoordinates()
    {
        // OpenSlide's bounds offset (MIRAX): QuPath's origin is the bounds' corner.
        const std::string text = formatAttentionGeoJson(fourPatches(), 512, {1000.0, 500.0});
        const nlohmann::json features = nlohmann::json::parse(text).at("features");
        const auto ring = features[0].at("geometry").at("coordinates")[0].get<std::vector<std::array<std::int64_t, 2>>>();
        QCOMPARE(ring, (std::vector<std::array<std::int64_t, 2>>{{24, 1548}, {536, 1548}, {536, 2060}, {24, 2060}, {24, 1548}}));
        QVERIFY(features[0].at("geometry").at("coordinates")[0][0][0].is_number_integer()); // whole offsets keep integers
        // A fractional offset gives fractional coordinates.
        const nlohmann::json half = nlohmann::json::parse(formatAttentionGeoJson(fourPatches(), 512, {0.5, 0.0})).at("features");
        QCOMPARE(half[0].at("geometry").at("coordinates")[0][0][0].get<double>(), 1023.5);
        QCOMPARE(half[0].at("geometry").at("coordinates")[0][0][1].get<double>(), 2048.0);
        QCOMPARE(
            errorOf([&] {
                writeAttentionGeoJson(m_dir / "nan.geojson", fourPatches(), 512, {std::nan(""), 0.0});
            }),
            QString::fromStdString("Cannot write '" + (m_dir / "nan.geojson").string() + "': the slide's bounds offset is not a number"));
    }

    void instanceScoresAreAMeasurement()
    {
        SlideAttention slide = fourPatches();
        slide.probabilities = {0.4, 0.6};
        slide.instanceScores = {0.75f, 0.25f, 0.5f, 0.5f, 0.125f, 0.875f, 0.0f, 1.0f};
        const nlohmann::json features = nlohmann::json::parse(formatAttentionGeoJson(slide, 512)).at("features");
        std::vector<double> scores;
        for (const nlohmann::json &feature : features)
            scores.push_back(feature.at("properties").at("measurements").at("instance_score").get<double>());
        QCOMPARE(scores, (std::vector<double>{0.25, 0.5, 0.875, 1.0})); // the last class's probability
    }

    void emptyAndSingleSlides()
    {
        const fs::path path = m_dir / "empty.geojson";
        writeAttentionGeoJson(path, SlideAttention{}, 256);
        QCOMPARE(readJson(path).at("features").size(), std::size_t{0});
        SlideAttention one;
        one.coords = {{0, 0}};
        one.attention = {1.0f};
        one.attentionRaw = {3.0f};
        writeAttentionGeoJson(path, one, 256); // replaces the file
        const nlohmann::json doc = readJson(path);
        QCOMPARE(doc.at("features").size(), std::size_t{1});
        QCOMPARE(doc.at("features")[0].at("properties").at("measurements").at("attention_rank").get<double>(), 0.5);
    }

    void errorsNameTheFileAndTheCause()
    {
        const fs::path path = m_dir / "bad.geojson";
        const std::string prefix = "Cannot write '" + path.string() + "': ";
        SlideAttention slide = fourPatches();
        slide.attention.pop_back();
        QCOMPARE(errorOf([&] { writeAttentionGeoJson(path, slide, 512); }),
                 QString::fromStdString(prefix + "there are 3 attention values for 4 patches"));
        slide = fourPatches();
        slide.attentionRaw.push_back(1.0f);
        QCOMPARE(errorOf([&] { writeAttentionGeoJson(path, slide, 512); }),
                 QString::fromStdString(prefix + "there are 5 raw attention scores for 4 patches"));
        QCOMPARE(errorOf([&] { writeAttentionGeoJson(path, fourPatches(), 256); }),
                 QString::fromStdString(prefix + "the patch size 256 disagrees with the 512 recorded with the attention"));
        QCOMPARE(errorOf([&] { writeAttentionGeoJson(path, fourPatches(), 0); }),
                 QString::fromStdString(prefix + "the patch size must be at least 1 level-0 pixel (got 0)"));
        slide = fourPatches();
        slide.attention[2] = std::nanf("");
        QCOMPARE(errorOf([&] { writeAttentionGeoJson(path, slide, 512); }),
                 QString::fromStdString(prefix + "the attention of patch 2 is not a number"));
        QVERIFY(!fs::exists(path));

        const fs::path nowhere = m_dir / "no-such-folder" / "slide.geojson";
        QCOMPARE(errorOf([&] { writeAttentionGeoJson(nowhere, fourPatches(), 512); }),
                 QString::fromStdString("Cannot write '" + nowhere.string() + "': No such file or directory"));
        QVERIFY(!fs::exists(nowhere.parent_path()));
    }

    void aFailedWriteKeepsTheOldFile()
    {
        const fs::path path = m_dir / "kept.geojson";
        writeAttentionGeoJson(path, fourPatches(), 512);
        const auto before = fs::file_size(path);
        SlideAttention bad = fourPatches();
        bad.coords.pop_back();
        QVERIFY(errorOf([&] { writeAttentionGeoJson(path, bad, 512); }).startsWith(QStringLiteral("Cannot write")));
        QCOMPARE(fs::file_size(path), before);
        QCOMPARE(readJson(path).at("features").size(), std::size_t{4});
    }
};

QTEST_GUILESS_MAIN(TstAttentionGeoJson)
#include "tst_attentiongeojson.moc"
