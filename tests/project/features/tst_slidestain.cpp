// SPDX-License-Identifier: GPL-3.0-or-later
// Stain normalisation on slides: each slide's stain estimated from its own patches, features of
// normalised patches equal to a direct computation, the settings recorded so that other settings
// extract again, slides from different synthetic scanning centres brought to one stain, a
// reference taken from a slide region, and one clear message for bad input.
#include "common/slidetestsupport.h"

#include "engine/embedders/embedder.h"
#include "engine/embedders/patchinput.h"
#include "engine/stain/stainnormaliser.h"
#include "project/dataset/slidelist.h"
#include "project/dataset/syntheticdataset.h"
#include "project/features/featureextractor.h"
#include "project/features/featurestore.h"
#include "project/features/slidestain.h"
#include "project/features/slidetiler.h"
#include "project/features/stainsettings.h"
#include "project/features/tissuepatchpool.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"
#include "slide/io/slidesource.h"
#include "slide/slideerror.h"
#include "slide/tissue/tissuedetectionparams.h"

#include <torch/torch.h>

#include <QtTest>

#include <cmath>
#include <filesystem>
#include <numbers>

using namespace icmil;
namespace fs = std::filesystem;

namespace {

project::TilingConfig tiling()
{
    project::TilingConfig config;
    config.tissue = slide::TissueDetectionParams::preset("bwh_biopsy"); // small test slides
    return config;
}

project::ExtractionConfig extraction(const fs::path &projectDir, engine::StainMethod method)
{
    project::ExtractionConfig config;
    config.projectDir = projectDir;
    config.embedder.name = "tiny-cnn";
    config.embedder.seed = 3;
    config.device = "cpu";
    config.batchSize = 8;
    config.readerThreads = 2;
    config.tiling = tiling();
    config.stain.method = method;
    return config;
}

double degrees(const std::array<double, 3> &a, const std::array<double, 3> &b)
{
    const double dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    return std::acos(std::clamp(dot, -1.0, 1.0)) * 180.0 / std::numbers::pi;
}

// The largest angle between the haematoxylin (or eosin) vectors of any two profiles.
double spread(const std::vector<engine::StainProfile> &profiles, bool eosin)
{
    double widest = 0.0;
    for (std::size_t i = 0; i < profiles.size(); ++i)
        for (std::size_t j = i + 1; j < profiles.size(); ++j)
            widest = std::max(widest,
                              eosin ? degrees(profiles[i].eosin, profiles[j].eosin)
                                    : degrees(profiles[i].haematoxylin, profiles[j].haematoxylin));
    return widest;
}

QString projectErrorOf(const std::function<void()> &work)
{
    try {
        work();
    } catch (const project::ProjectError &e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TstSlideStain : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    std::vector<project::SlideEntry> m_slides;

    project::SlideTiling tiled(const project::SlideEntry &entry, const slide::SlideSource &source) const
    {
        return project::SlideTiler(project::ProjectLayout(m_dir / "tiles"), tiling()).tile(source, entry.slideId);
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_slidestain");
        project::SyntheticDatasetConfig config;
        config.outputDir = m_dir / "dataset";
        config.slides = 4;
        config.seed = 5;
        config.width = 4096;
        config.height = 3072;
        config.preset = slide::SyntheticPreset::Camelyon; // scanning centres with their own stains
        project::SyntheticDataset(config).generate();
        m_slides = project::listSlides(config.outputDir).slides;
        QCOMPARE(m_slides.size(), std::size_t{4});
    }

    void normalisedFeaturesMatchADirectComputation()
    {
        const fs::path projectDir = m_dir / "direct";
        fs::remove_all(projectDir);
        project::FeatureExtractor extractor(extraction(projectDir, engine::StainMethod::Macenko));
        const project::ExtractionReport report = extractor.run({m_slides[0]});
        QCOMPARE(report.failed(), 0);
        const project::SlideFeatures stored = project::readFeatureFile(report.slides[0].featureFile);
        QVERIFY(stored.count > 10);
        QCOMPARE(stored.attributes.stainSettings, project::stainSettingsKey(extraction(projectDir, engine::StainMethod::Macenko).stain));

        // The slide's profile, estimated again from its grid, is the one the file records.
        const auto source = slide::SlideSource::open(m_slides[0].path);
        const project::SlideTiling grid = tiled(m_slides[0], *source);
        std::unique_ptr<engine::Embedder> embedder = engine::makeEmbedder(extraction(projectDir, engine::StainMethod::None).embedder);
        embedder->setTraining(false);
        const engine::StainProfile profile
            = project::estimateSlideStain(*source, grid.grid.readLevel, grid.grid.readSize, grid.grid.coords, embedder->inputSize());
        QVERIFY(profile == project::stainProfileFromJson(stored.attributes.stainProfile));

        // Patches normalised one at a time give the features the batched run stored.
        const engine::StainNormaliser normaliser(extraction(projectDir, engine::StainMethod::Macenko).stain);
        const torch::Tensor map = normaliser.slideTransform(profile);
        torch::NoGradGuard noGrad;
        torch::Tensor pixels = torch::empty({1, 256, 256, 4}, torch::kUInt8);
        for (const std::int64_t i : {std::int64_t{0}, stored.count / 2, stored.count - 1}) {
            const auto [x, y] = stored.coords[static_cast<std::size_t>(i)];
            source->readRegionArgb(0, x, y, 256, 256, reinterpret_cast<std::uint32_t *>(pixels.data_ptr<std::uint8_t>()));
            const torch::Tensor input = normaliser.apply(engine::patchesToModelInput(pixels, embedder->inputSize(), torch::kCPU), map);
            const torch::Tensor expected = embedder->forward(input);
            const torch::Tensor got
                = torch::from_blob(const_cast<float *>(stored.features.data()) + i * stored.dim, {1, stored.dim}, torch::kFloat32);
            QVERIFY2(torch::allclose(expected, got, 1e-4, 1e-5),
                     qPrintable(QStringLiteral("patch %1 differs by %2").arg(i).arg((expected - got).abs().max().item<float>())));
        }
    }

    void otherStainSettingsExtractAgain()
    {
        const fs::path projectDir = m_dir / "settings";
        fs::remove_all(projectDir);
        auto statusOf = [&](engine::StainMethod method) {
            return project::FeatureExtractor(extraction(projectDir, method)).run({m_slides[1]}).slides.at(0).status;
        };
        using Status = project::SlideExtraction::Status;
        QCOMPARE(statusOf(engine::StainMethod::None), Status::Extracted);
        QCOMPARE(statusOf(engine::StainMethod::None), Status::Skipped);
        const std::vector<float> plain
            = project::readFeatureFile(project::ProjectLayout(projectDir).featureFile("tiny-cnn", m_slides[1].slideId)).features;
        QCOMPARE(statusOf(engine::StainMethod::Macenko), Status::Extracted);
        QCOMPARE(statusOf(engine::StainMethod::Macenko), Status::Skipped);
        const std::vector<float> macenko
            = project::readFeatureFile(project::ProjectLayout(projectDir).featureFile("tiny-cnn", m_slides[1].slideId)).features;
        QVERIFY(plain != macenko);
        QCOMPARE(statusOf(engine::StainMethod::Reinhard), Status::Extracted);
        // Another reference is another setting too.
        project::ExtractionConfig other = extraction(projectDir, engine::StainMethod::Reinhard);
        other.stain.reference.labMean[0] += 0.1;
        QCOMPARE(project::FeatureExtractor(other).run({m_slides[1]}).slides.at(0).status, Status::Extracted);
    }

    void slidesFromOtherCentresComeToOneStain()
    {
        // The synthetic centres turn the H&E vectors by up to 0.12 per component; after Macenko
        // every slide's own estimate is the reference's, within 2 degrees.
        std::vector<engine::StainProfile> before, after;
        const engine::StainNormaliser normaliser(extraction(m_dir, engine::StainMethod::Macenko).stain);
        std::set<int> centres;
        for (const project::SlideEntry &entry : m_slides) {
            const auto source = slide::SlideSource::open(entry.path);
            const project::SlideTiling grid = tiled(entry, *source);
            const engine::StainProfile profile
                = project::estimateSlideStain(*source, grid.grid.readLevel, grid.grid.readSize, grid.grid.coords, 64);
            before.push_back(profile);
            // The same 16 patches, normalised, estimated again.
            const torch::Tensor patches
                = project::stainSamplePatches(*source, grid.grid.readLevel, grid.grid.readSize, grid.grid.coords, 64);
            after.push_back(engine::estimateStainProfileOfPatches(normaliser.apply(patches, normaliser.slideTransform(profile))));
        }
        const engine::StainProfile reference = engine::builtInStainReference();
        qInfo("H spread between slides %.1f -> %.1f degrees, E %.1f -> %.1f", spread(before, false), spread(after, false),
              spread(before, true), spread(after, true));
        QVERIFY(spread(before, false) > 5.0 && spread(after, false) < 2.0);
        QVERIFY(spread(before, true) > 5.0 && spread(after, true) < 2.0);
        for (const engine::StainProfile &p : after) {
            auto unit = [](std::array<double, 3> v) {
                const double n = std::sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
                return std::array<double, 3>{v[0] / n, v[1] / n, v[2] / n};
            };
            QVERIFY2(degrees(p.haematoxylin, unit(reference.haematoxylin)) < 3.0,
                     qPrintable(QString::number(degrees(p.haematoxylin, unit(reference.haematoxylin)))));
            QVERIFY2(degrees(p.eosin, unit(reference.eosin)) < 3.0, qPrintable(QString::number(degrees(p.eosin, unit(reference.eosin)))));
        }
    }

    void poolBatchesUseEachPatchsOwnSlide()
    {
        // Fine-tuning's batches mix slides: each patch gets its own slide's map.
        std::vector<project::SlideEntry> two{m_slides[0], m_slides[2]};
        const project::TissuePatchPool pool = project::collectTissuePatches(project::ProjectLayout(m_dir / "tiles"), tiling(), two);
        engine::StainNormalisation settings;
        settings.method = engine::StainMethod::Reinhard;
        const project::PoolStainMaps maps(settings, pool, 64);
        std::vector<project::PatchSample> mixed;
        for (std::size_t i = 0; i < pool.samples.size() && mixed.size() < 6; i += 7)
            mixed.push_back(pool.samples[i]);
        mixed.push_back(pool.samples.back());
        project::PatchSampleReader reader(pool.slides, mixed, 64, {100, 1, 1, {}});
        const std::optional<project::PatchSampleReader::Batch> batch = reader.next();
        QVERIFY(batch);
        const torch::Tensor normalised = maps.apply(*batch, torch::kCPU);
        const engine::StainNormaliser normaliser(settings);
        for (int s = 0; s < 2; ++s) {
            std::vector<slide::PatchCoord> coords;
            for (const project::PatchSample &sample : pool.samples)
                if (sample.slide == s)
                    coords.push_back(sample.coord);
            const project::SampledSlide &slide = pool.slides[static_cast<std::size_t>(s)];
            const torch::Tensor map
                = normaliser.slideTransform(project::estimateSlideStain(*slide.source, slide.readLevel, slide.readSize, coords, 64));
            for (std::int64_t i = 0; i < batch->patches.size(0); ++i)
                if (batch->slides[i].item<std::int64_t>() == s)
                    QVERIFY(torch::equal(normalised.slice(0, i, i + 1), normaliser.apply(batch->patches.slice(0, i, i + 1), map)));
        }
        QVERIFY(batch->slides.eq(0).any().item<bool>() && batch->slides.eq(1).any().item<bool>());
    }

    void referenceFromASlideRegion()
    {
        const std::string text = m_slides[3].path.string() + "@0,0,4096,3072";
        const engine::StainNormalisation settings = project::resolveStainNormalisation(engine::StainMethod::Macenko, text);
        QCOMPARE(settings.referenceSource, text);
        QVERIFY(settings.reference.pixels > 1000);
        QVERIFY(!(settings.reference == engine::builtInStainReference()));
        // Saved and read back as the same settings.
        QVERIFY(project::stainNormalisationFromKey(project::stainSettingsKey(settings)) == settings);
        QVERIFY(project::stainNormalisationFromKey("") == engine::StainNormalisation{});
        QVERIFY(project::resolveStainNormalisation(engine::StainMethod::Reinhard, "built-in").reference == engine::builtInStainReference());
    }

    void badInputGetsOneClearMessage()
    {
        QCOMPARE(projectErrorOf([] { project::parseStainRegion("slide.tiff"); }),
                 QStringLiteral("A stain reference is built-in or SLIDE@X,Y,W,H (a level-0 rectangle), not 'slide.tiff'"));
        QCOMPARE(projectErrorOf([] { project::parseStainRegion("slide.tiff@1,2,0,4"); }),
                 QStringLiteral("A stain reference is built-in or SLIDE@X,Y,W,H (a level-0 rectangle), not 'slide.tiff@1,2,0,4'"));
        QCOMPARE(projectErrorOf([] { project::parseStainRegion("slide.tiff@1,2,3"); }),
                 QStringLiteral("A stain reference is built-in or SLIDE@X,Y,W,H (a level-0 rectangle), not 'slide.tiff@1,2,3'"));
        const project::StainRegion region = project::parseStainRegion("/data/a@b.svs@10,20,30,40");
        QCOMPARE(region.slide, fs::path("/data/a@b.svs"));
        QCOMPARE(region.height, std::int64_t{40});
        // A region of glass has no stain to take.
        const std::string glass = m_slides[0].path.string() + "@0,0,64,64";
        QCOMPARE(
            projectErrorOf([&] { project::resolveStainNormalisation(engine::StainMethod::Macenko, glass); }),
            QStringLiteral("Cannot take the stain reference from %1: Too little stained tissue to estimate the stain: 0 of 4096 pixels "
                           "have a mean optical density above 0.15 (at least 500 are needed)")
                .arg(QString::fromStdString(glass)));
        // Outside the slide: the slide layer's message.
        try {
            project::resolveStainNormalisation(engine::StainMethod::Macenko, m_slides[0].path.string() + "@4000,3000,500,500");
            QFAIL("a region outside the slide was read");
        } catch (const slide::SlideError &e) {
            QVERIFY2(QString::fromStdString(e.what()).contains(QStringLiteral("slide_")), e.what());
        }
        QCOMPARE(projectErrorOf([] { project::stainNormalisationFromKey("{\"method\": \"vahadane\"}"); }),
                 QStringLiteral("Cannot read the stain settings: Unknown stain normalisation 'vahadane': use none, macenko or reinhard"));
    }
};

QTEST_GUILESS_MAIN(TstSlideStain)
#include "tst_slidestain.moc"
