// SPDX-License-Identifier: GPL-3.0-or-later
// The generator's presets (slide/synthetic/syntheticpreset.h): deterministic per seed, a heavy-tailed
// tumour burden, mimics in normal slides whose colour overlaps tumour, site variation, and exact
// ground truth.
#include "slide/synthetic/groundtruthmask.h"
#include "slide/synthetic/syntheticpreset.h"
#include "slide/synthetic/syntheticslidewriter.h"
#include "slide/synthetic/tissuephantom.h"

#include <QtTest>

#include <QFile>
#include <QTemporaryDir>

#include <openslide.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

using namespace icmil::slide;
namespace fs = std::filesystem;

namespace {

SyntheticSlideConfig config(SyntheticPreset preset, std::uint64_t seed, bool positive, std::int64_t width = 12000,
                            std::int64_t height = 9600)
{
    SyntheticSlideConfig c;
    c.width = width;
    c.height = height;
    c.seed = seed;
    c.positive = positive;
    c.preset = preset;
    c.threads = 2;
    c.slideId = "preset-" + std::to_string(seed);
    return c;
}

QByteArray fileBytes(const fs::path &path)
{
    QFile file(QString::fromStdString(path.string()));
    return file.open(QIODevice::ReadOnly) ? file.readAll() : QByteArray();
}

struct ColourStats {
    double green = 0.0;     // mean green (eosin absorbs green: lower = more purple/darker)
    double darkShare = 0.0; // share of pixels darker than 140 in green (nuclear chromatin)
    double pixels = 0.0;
};

} // namespace

class TstSyntheticPresets : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();
    void namesRoundTrip();
    void sameSeedSamePresetGivesIdenticalBytes();
    void threadCountDoesNotChangeBytes();
    void presetChangesTheSlide();
    void burdenIsHeavyTailed();
    void mimicsExistInNormalSlides();
    void mimicColourOverlapsTumour();
    void siteVariesAcrossCentres();
    void groundTruthStaysExact();

private:
    SyntheticSlideResult write(const SyntheticSlideConfig &c, const std::string &stem);
    fs::path scratch(const std::string &name) const { return m_scratch / name; }

    QTemporaryDir m_temporary;
    fs::path m_scratch;
};

SyntheticSlideResult TstSyntheticPresets::write(const SyntheticSlideConfig &c, const std::string &stem)
{
    return SyntheticSlideWriter(c).write(scratch(stem + ".svs"), scratch(stem + "_mask.png"), scratch(stem + ".geojson"));
}

void TstSyntheticPresets::initTestCase()
{
    QVERIFY(m_temporary.isValid());
    m_scratch = m_temporary.path().toStdString();
}

void TstSyntheticPresets::namesRoundTrip()
{
    for (const std::string &name : presetNames()) {
        const auto preset = parsePreset(name);
        QVERIFY(preset.has_value());
        QCOMPARE(presetName(*preset), name);
        QCOMPARE(presetModel(*preset).preset, *preset);
    }
    QVERIFY(!parsePreset("Camelyon").has_value());
    QVERIFY(!parsePreset("").has_value());
    QVERIFY(!presetModel(SyntheticPreset::Easy).heavyTailed);
    QCOMPARE(presetModel(SyntheticPreset::Easy).aggregatesMax, 0);
    QVERIFY(!presetModel(SyntheticPreset::Easy).siteVariation);
}

void TstSyntheticPresets::sameSeedSamePresetGivesIdenticalBytes()
{
    for (SyntheticPreset preset : {SyntheticPreset::Camelyon, SyntheticPreset::Hard}) {
        const std::string name = presetName(preset);
        const SyntheticSlideConfig c = config(preset, 7, true, 3072, 2560);
        write(c, name + "-a");
        write(c, name + "-b");
        const QByteArray a = fileBytes(scratch(name + "-a.svs"));
        QVERIFY(a.size() > 10000);
        QVERIFY(a == fileBytes(scratch(name + "-b.svs")));
        QVERIFY(fileBytes(scratch(name + "-a_mask.png")) == fileBytes(scratch(name + "-b_mask.png")));
        QVERIFY(fileBytes(scratch(name + "-a.geojson")) == fileBytes(scratch(name + "-b.geojson")));
    }
}

void TstSyntheticPresets::threadCountDoesNotChangeBytes()
{
    // Blur, pen and folds are computed per tile from the seed, never from the rendering order.
    for (std::uint64_t seed : {3u, 11u}) {
        SyntheticSlideConfig one = config(SyntheticPreset::Hard, seed, true, 3072, 2560);
        one.threads = 1;
        write(one, "threads-1-" + std::to_string(seed));
        SyntheticSlideConfig two = one;
        two.threads = 2;
        write(two, "threads-2-" + std::to_string(seed));
        QVERIFY(fileBytes(scratch("threads-1-" + std::to_string(seed) + ".svs"))
                == fileBytes(scratch("threads-2-" + std::to_string(seed) + ".svs")));
    }
}

void TstSyntheticPresets::presetChangesTheSlide()
{
    write(config(SyntheticPreset::Easy, 7, true, 3072, 2560), "easy-7");
    QVERIFY(fileBytes(scratch("easy-7.svs")) != fileBytes(scratch("camelyon-a.svs")));
}

void TstSyntheticPresets::burdenIsHeavyTailed()
{
    // About half the positive slides carry only micro-metastases, well under 1% of the tissue;
    // the others carry more, up to several percent.
    int micro = 0;
    std::vector<double> macroFractions;
    const int slides = 40;
    for (int seed = 1; seed <= slides; ++seed) {
        const TissuePhantom phantom(config(SyntheticPreset::Camelyon, static_cast<std::uint64_t>(seed) * 7919, true));
        const GroundTruthMask truth(phantom, 32, 2);
        QVERIFY2(!phantom.tumours().empty(), qPrintable(QStringLiteral("seed %1 has no tumour").arg(seed)));
        if (phantom.microMetastasesOnly()) {
            ++micro;
            QVERIFY(phantom.tumours().size() <= 2);
            QVERIFY2(truth.tumourFraction() < 0.01, qPrintable(QStringLiteral("micro slide %1: %2").arg(seed).arg(truth.tumourFraction())));
        } else {
            macroFractions.push_back(truth.tumourFraction());
        }
    }
    QVERIFY2(micro >= 12 && micro <= 28, qPrintable(QStringLiteral("%1 of %2 micro-only").arg(micro).arg(slides)));
    std::sort(macroFractions.begin(), macroFractions.end());
    const double median = macroFractions[macroFractions.size() / 2];
    QVERIFY2(median > 0.01, qPrintable(QStringLiteral("median macro burden %1").arg(median)));
    QVERIFY(macroFractions.back() > 3.0 * macroFractions.front()); // a wide spread, not one size
}

void TstSyntheticPresets::mimicsExistInNormalSlides()
{
    for (SyntheticPreset preset : {SyntheticPreset::Camelyon, SyntheticPreset::Hard}) {
        int withCentre = 0;
        for (int seed = 1; seed <= 10; ++seed) {
            const TissuePhantom phantom(config(preset, static_cast<std::uint64_t>(seed), false));
            const GroundTruthMask truth(phantom, 32, 2);
            QVERIFY(phantom.tumours().empty());
            QCOMPARE(cv::countNonZero(truth.tumourMask()), 0);
            QVERIFY2(phantom.aggregates().size() >= static_cast<std::size_t>(presetModel(preset).aggregatesMin),
                     qPrintable(QStringLiteral("seed %1: %2 aggregates").arg(seed).arg(phantom.aggregates().size())));
            QVERIFY2(truth.mimicFraction() > 0.002,
                     qPrintable(QStringLiteral("seed %1 mimic fraction %2").arg(seed).arg(truth.mimicFraction())));
            QVERIFY(cv::countNonZero(truth.mimicMask()) > 0);
            withCentre += phantom.germinalCentres().empty() ? 0 : 1;
        }
        QVERIFY(withCentre >= 5);
    }
    // The easy preset has none.
    const TissuePhantom easy(config(SyntheticPreset::Easy, 1, false));
    QVERIFY(easy.aggregates().empty());
    QCOMPARE(GroundTruthMask(easy, 32, 2).mimicFraction(), 0.0);
}

void TstSyntheticPresets::mimicColourOverlapsTumour()
{
    // On one positive slide with both a large tumour and mimics: mean colour and the share of
    // dark (nuclear) pixels of the mimics are close to the tumour's, while the stroma differs.
    std::uint64_t seed = 0;
    for (std::uint64_t s = 1; s < 200 && seed == 0; ++s) {
        const TissuePhantom phantom(config(SyntheticPreset::Camelyon, s, true, 6144, 5120));
        SyntheticSlideConfig c = config(SyntheticPreset::Camelyon, s, true, 6144, 5120);
        if (!phantom.microMetastasesOnly() && phantom.aggregates().size() >= 2 && !phantom.site().blurred()
            && phantom.site().penStrokes() == 0 && phantom.site().folds() == 0)
            seed = s;
    }
    QVERIFY(seed != 0);
    const SyntheticSlideConfig c = config(SyntheticPreset::Camelyon, seed, true, 6144, 5120);
    write(c, "colour");
    const TissuePhantom phantom(c);
    const GroundTruthMask truth(phantom, 32, 2);
    openslide_t *slide = openslide_open(scratch("colour.svs").c_str());
    QVERIFY(slide != nullptr && openslide_get_error(slide) == nullptr);
    std::vector<std::uint32_t> argb(6144 * 5120);
    openslide_read_region(slide, argb.data(), 0, 0, 0, 6144, 5120);
    QVERIFY(openslide_get_error(slide) == nullptr);
    openslide_close(slide);
    ColourStats tumour, mimic, stroma;
    for (int y = 0; y < 5120; ++y)
        for (int x = 0; x < 6144; ++x) {
            const std::uint32_t p = argb[static_cast<std::size_t>(y) * 6144 + x];
            const double green = (p >> 8) & 0xFF;
            ColourStats *into = nullptr;
            if (truth.tumourMask().at<std::uint8_t>(y / 32, x / 32) == 255)
                into = &tumour;
            else if (truth.mimicMask().at<std::uint8_t>(y / 32, x / 32) == 255)
                into = &mimic;
            else if (green < 215.0 && phantom.fieldsAt(x + 0.5, y + 0.5).tissue > 8.0f)
                into = &stroma;
            if (into) {
                into->green += green;
                into->darkShare += green < 140.0 ? 1.0 : 0.0;
                into->pixels += 1.0;
            }
        }
    for (ColourStats *s : {&tumour, &mimic, &stroma}) {
        QVERIFY(s->pixels > 1000);
        s->green /= s->pixels;
        s->darkShare /= s->pixels;
    }
    const QString figures = QStringLiteral("green tumour %1 mimic %2 stroma %3; dark share tumour %4 mimic %5 stroma %6")
                                .arg(tumour.green)
                                .arg(mimic.green)
                                .arg(stroma.green)
                                .arg(tumour.darkShare)
                                .arg(mimic.darkShare)
                                .arg(stroma.darkShare);
    qInfo().noquote() << figures;
    QVERIFY2(std::abs(tumour.green - mimic.green) < 0.4 * std::abs(tumour.green - stroma.green), qPrintable(figures));
    QVERIFY2(std::abs(tumour.darkShare - mimic.darkShare) < 0.5 * std::abs(tumour.darkShare - stroma.darkShare), qPrintable(figures));
}

void TstSyntheticPresets::siteVariesAcrossCentres()
{
    // Glass colour and the stain differ between scanning centres; the easy preset has one look.
    std::set<int> centres;
    std::set<std::vector<int>> glass;
    for (int seed = 1; seed <= 20; ++seed) {
        const TissuePhantom phantom(config(SyntheticPreset::Camelyon, static_cast<std::uint64_t>(seed), false, 2048, 2048));
        centres.insert(phantom.site().centre());
        const std::uint8_t *row = phantom.siteGlassRow(0, 0);
        glass.insert({row[0], row[1], row[2]});
    }
    QVERIFY(centres.size() >= 3);
    QVERIFY(glass.size() >= 3);
    const TissuePhantom easy(config(SyntheticPreset::Easy, 1, false, 2048, 2048));
    QVERIFY(!easy.site().active());
    QVERIFY(std::equal(easy.siteGlassRow(0, 0), easy.siteGlassRow(0, 0) + 300, easy.glassRow(0, 0)));
}

void TstSyntheticPresets::groundTruthStaysExact()
{
    // Every mask pixel marked tumour has its centre inside a tumour polygon of the GeoJSON's
    // regions (the phantom's exact field), for the harder presets too.
    for (SyntheticPreset preset : {SyntheticPreset::Camelyon, SyntheticPreset::Hard}) {
        const SyntheticSlideConfig c = config(preset, 7, true, 3072, 2560);
        const TissuePhantom phantom(c);
        const cv::Mat mask = cv::imread(scratch(presetName(preset) + "-a_mask.png").string(), cv::IMREAD_GRAYSCALE);
        QVERIFY(!mask.empty());
        int tumourPixels = 0;
        for (int y = 0; y < mask.rows; ++y)
            for (int x = 0; x < mask.cols; ++x) {
                const bool inside = phantom.fieldsAt((x + 0.5) * 32, (y + 0.5) * 32).tumour > 0.0f;
                QCOMPARE(mask.at<std::uint8_t>(y, x) == 255, inside);
                tumourPixels += inside ? 1 : 0;
            }
        QVERIFY(tumourPixels > 0);
    }
}

QTEST_GUILESS_MAIN(TstSyntheticPresets)

#include "tst_syntheticpresets.moc"
