// SPDX-License-Identifier: GPL-3.0-or-later
// The extraction pipeline: slide listing, threaded patch batches, tiling outputs, features equal
// to a direct computation, resume after cancel giving the same bytes, and a bad slide reported
// without stopping the run.
#include "common/slidetestsupport.h"

#include "engine/embedders/embedder.h"
#include "engine/embedders/patchinput.h"
#include "project/features/featureextractor.h"
#include "slide/tissue/tissuedetectionparams.h"
#include "project/features/featurestore.h"
#include "project/features/patchbatchreader.h"
#include "project/projecterror.h"
#include "project/dataset/slidelist.h"
#include "project/dataset/syntheticdataset.h"
#include "project/features/slidetiler.h"
#include "slide/slideerror.h"
#include "slide/io/slidesource.h"

#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace icmil;
namespace fs = std::filesystem;

namespace {

// A project folder emptied first: scratch folders outlive a test run.
fs::path freshDir(const fs::path &dir)
{
    fs::remove_all(dir);
    return dir;
}

project::ExtractionConfig configFor(const fs::path &projectDir)
{
    project::ExtractionConfig config;
    config.projectDir = projectDir;
    config.embedder.name = "tiny-cnn";
    config.embedder.seed = 7;
    config.device = "cpu";
    config.batchSize = 16;
    config.readerThreads = 2;
    // CLAM's default preset drops regions under 100 reference patches (26 M level-0 pixels): more
    // than these small test slides hold. The biopsy preset keeps anything over one.
    config.tiling.tissue = slide::TissueDetectionParams::preset("bwh_biopsy");
    return config;
}

std::vector<float> featuresOf(const fs::path &file)
{
    return project::readFeatureFile(file).features;
}

} // namespace

class TstFeatureExtractor : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    fs::path m_dataset;
    std::vector<project::SlideEntry> m_slides;

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_featureextractor");
        m_dataset = m_dir / "dataset";
        project::SyntheticDatasetConfig config;
        config.outputDir = m_dataset;
        config.slides = 3;
        config.seed = 21;
        config.width = 4096;
        config.height = 3072;
        config.positiveFraction = 0.5;
        project::SyntheticDataset(config).generate();
        const project::SlideListing listing = project::listSlides(m_dataset);
        QVERIFY(listing.problems.empty());
        m_slides = listing.slides;
        QCOMPARE(m_slides.size(), std::size_t{3});
    }

    void listsSlidesThreeWays()
    {
        // A folder without labels.csv: every slide-like file, by name.
        const project::SlideListing folder = project::listSlides(m_dataset / "slides");
        QCOMPARE(folder.slides.size(), std::size_t{3});
        QVERIFY(folder.slides[0].path < folder.slides[1].path);
        // One file.
        const project::SlideListing one = project::listSlides(m_slides[1].path);
        QCOMPARE(one.slides.size(), std::size_t{1});
        QCOMPARE(QString::fromStdString(one.slides[0].slideId), QString::fromStdString(m_slides[1].slideId));
        // labels.csv naming a slide that is not there: reported, the others listed.
        const fs::path partial = m_dir / "partial";
        fs::create_directories(partial / "slides");
        fs::copy_file(m_slides[0].path, partial / "slides" / m_slides[0].path.filename(), fs::copy_options::overwrite_existing);
        std::ofstream(partial / "labels.csv") << "case_id,slide_id,label\nc0," << m_slides[0].slideId << ",normal\nc9,ghost,tumor\n";
        const project::SlideListing labelled = project::listSlides(partial);
        QCOMPARE(labelled.slides.size(), std::size_t{1});
        QCOMPARE(labelled.problems.size(), std::size_t{1});
        QCOMPARE(QString::fromStdString(labelled.problems[0]),
                 QStringLiteral("No slide file for slide_id 'ghost' in '%1'").arg(QString::fromStdString(partial.string())));
        bool threw = false;
        try {
            project::listSlides(m_dir / "nowhere");
        } catch (const project::ProjectError &e) {
            threw = true;
            QCOMPARE(
                QString::fromUtf8(e.what()),
                QStringLiteral("Cannot list slides in '%1': it does not exist").arg(QString::fromStdString((m_dir / "nowhere").string())));
        }
        QVERIFY(threw);
    }

    void batchesComeInOrderWithTheRightPixels()
    {
        std::shared_ptr<const slide::SlideSource> source = slide::SlideSource::open(m_slides[0].path);
        slide::PatchGridParams params;
        params.patchSize = 128;
        const slide::PatchGrid grid = slide::PatchGrid::build(*source, nullptr, params); // every lattice position
        QVERIFY(grid.coords.size() > 100);
        project::PatchBatchReader::Options options;
        options.batchSize = 7;
        options.threads = 3;
        options.batchesAhead = 2;
        project::PatchBatchReader reader(source, grid, options);
        std::int64_t expectedFirst = 0;
        while (auto batch = reader.next()) {
            QCOMPARE(batch->first, expectedFirst);
            QCOMPARE(batch->bgra.size(1), std::int64_t{grid.readSize});
            QCOMPARE(batch->bgra.size(3), std::int64_t{4});
            expectedFirst += batch->bgra.size(0);
            if (batch->first == 14) { // spot-check one patch against readRegion (RGBA -> BGRA)
                const slide::PatchCoord c = grid.coords[16];
                const slide::RgbaImage rgba = source->readRegion(grid.readLevel, c.x, c.y, grid.readSize, grid.readSize);
                const std::uint8_t *bgra = batch->bgra[2].data_ptr<std::uint8_t>();
                for (std::size_t i = 0; i < rgba.pixels.size(); i += 4) {
                    QCOMPARE(bgra[i + 0], rgba.pixels[i + 2]);
                    QCOMPARE(bgra[i + 1], rgba.pixels[i + 1]);
                    QCOMPARE(bgra[i + 2], rgba.pixels[i + 0]);
                    QCOMPARE(bgra[i + 3], rgba.pixels[i + 3]);
                }
            }
        }
        QCOMPARE(expectedFirst, static_cast<std::int64_t>(grid.coords.size()));
        QVERIFY(!reader.next());
    }

    void readerErrorReachesTheConsumer()
    {
        std::shared_ptr<const slide::SlideSource> source = slide::SlideSource::open(m_slides[0].path);
        slide::PatchGrid grid = slide::PatchGrid::build(*source, nullptr, {});
        grid.coords.push_back({source->level(0).width, 0}); // outside the slide
        project::PatchBatchReader reader(source, grid, {});
        QString error;
        try {
            while (reader.next()) { }
        } catch (const slide::SlideError &e) {
            error = QString::fromUtf8(e.what());
        }
        QVERIFY2(error.contains(QStringLiteral("outside the level")), qPrintable(error));
    }

    void featuresMatchADirectComputation()
    {
        const fs::path projectDir = freshDir(m_dir / "direct");
        project::FeatureExtractor extractor(configFor(projectDir));
        const project::ExtractionReport report = extractor.run({m_slides[0]});
        QCOMPARE(report.slides.size(), std::size_t{1});
        QCOMPARE(int(report.slides[0].status), int(project::SlideExtraction::Status::Extracted));
        const project::ProjectLayout layout(projectDir);
        QVERIFY(fs::exists(layout.patchFile(m_slides[0].slideId)));
        QVERIFY(fs::exists(layout.tissueMaskFile(m_slides[0].slideId)));
        QVERIFY(fs::exists(layout.tissueGeoJsonFile(m_slides[0].slideId)));

        const project::SlideFeatures stored = project::readFeatureFile(report.slides[0].featureFile);
        QVERIFY(stored.count > 20);
        QCOMPARE(stored.dim, std::int64_t{extractor.embedder().featureDim()});
        QCOMPARE(QString::fromStdString(stored.attributes.encoder), QStringLiteral("tiny-cnn"));
        QCOMPARE(stored.attributes.patchSize, std::optional<std::int64_t>(256));
        QCOMPARE(stored.attributes.targetMagnification, std::optional<double>(20.0));

        // Three patches through the same embedder, read one by one with readRegion.
        engine::EmbedderConfig embedderConfig = configFor(projectDir).embedder;
        std::unique_ptr<engine::Embedder> embedder = engine::makeEmbedder(embedderConfig);
        embedder->setTraining(false);
        const auto source = slide::SlideSource::open(m_slides[0].path);
        torch::NoGradGuard noGrad;
        for (const std::int64_t i : {std::int64_t{0}, stored.count / 2, stored.count - 1}) {
            const auto [x, y] = stored.coords[static_cast<std::size_t>(i)];
            const slide::RgbaImage rgba = source->readRegion(0, x, y, 256, 256);
            torch::Tensor patch = torch::empty({1, 256, 256, 4}, torch::kUInt8);
            std::uint8_t *p = patch.data_ptr<std::uint8_t>();
            for (std::size_t k = 0; k < rgba.pixels.size(); k += 4) {
                p[k] = rgba.pixels[k + 2];
                p[k + 1] = rgba.pixels[k + 1];
                p[k + 2] = rgba.pixels[k];
                p[k + 3] = rgba.pixels[k + 3];
            }
            const torch::Tensor expected = embedder->forward(engine::patchesToModelInput(patch, embedder->inputSize(), torch::kCPU));
            const torch::Tensor got
                = torch::from_blob(const_cast<float *>(stored.features.data()) + i * stored.dim, {1, stored.dim}, torch::kFloat32);
            QVERIFY2(torch::allclose(expected, got, 1e-4, 1e-5),
                     qPrintable(QStringLiteral("patch %1 differs by %2").arg(i).arg((expected - got).abs().max().item<float>())));
        }
    }

    void resumedRunEqualsUninterruptedRun()
    {
        const fs::path whole = freshDir(m_dir / "whole");
        const project::ExtractionReport straight = project::FeatureExtractor(configFor(whole)).run(m_slides);
        QCOMPARE(straight.slides.size(), std::size_t{3});
        QCOMPARE(straight.failed(), 0);
        QVERIFY(!straight.cancelled);

        // Cancel while the second slide is being extracted.
        const fs::path resumed = freshDir(m_dir / "resumed");
        {
            project::FeatureExtractor extractor(configFor(resumed));
            extractor.setProgressCallback([&](const project::ExtractionProgress &p) {
                if (p.slideIndex == 1 && p.phase == "extracting")
                    extractor.cancel();
            });
            const project::ExtractionReport cut = extractor.run(m_slides);
            QVERIFY(cut.cancelled);
            QCOMPARE(cut.slides.size(), std::size_t{1});
        }
        const project::ProjectLayout layout(resumed);
        QVERIFY(fs::exists(layout.featureFile("tiny-cnn", m_slides[0].slideId)));
        QVERIFY(!fs::exists(layout.featureFile("tiny-cnn", m_slides[1].slideId)));
        QVERIFY(!fs::exists(fs::path(layout.featureFile("tiny-cnn", m_slides[1].slideId)).concat(".partial")));

        const project::ExtractionReport rest = project::FeatureExtractor(configFor(resumed)).run(m_slides);
        QCOMPARE(rest.slides.size(), std::size_t{3});
        QCOMPARE(int(rest.slides[0].status), int(project::SlideExtraction::Status::Skipped));
        QCOMPARE(int(rest.slides[1].status), int(project::SlideExtraction::Status::Extracted));
        QCOMPARE(int(rest.slides[2].status), int(project::SlideExtraction::Status::Extracted));
        for (const project::SlideEntry &slide : m_slides) {
            const std::vector<float> a = featuresOf(project::ProjectLayout(whole).featureFile("tiny-cnn", slide.slideId));
            const std::vector<float> b = featuresOf(layout.featureFile("tiny-cnn", slide.slideId));
            QCOMPARE(a.size(), b.size());
            QVERIFY(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
        }
    }

    void otherTissueSettingsTileAndExtractAgain()
    {
        // A rerun with other tissue settings or minimum tissue per patch must not reuse the patches
        // (and features) the first settings chose: with a minimum tissue area larger than the
        // slide (and no cap) nothing is kept, with the biopsy preset plenty.
        const fs::path projectDir = freshDir(m_dir / "retile");
        const project::ProjectLayout layout(projectDir);
        const std::string id = m_slides[0].slideId;
        project::ExtractionConfig config = configFor(projectDir);
        slide::TissueDetectionParams nothing = slide::TissueDetectionParams::preset("default");
        nothing.minTissueAreaMm2 = 1000.0;
        nothing.maxAreaFraction = 1.0;
        config.tiling.tissue = nothing;
        const project::ExtractionReport none = project::FeatureExtractor(config).run({m_slides[0]});
        QCOMPARE(none.slides[0].patches, std::int64_t{0});
        // The slide's own advice: tissue-like pixels were there, every piece below the minimum area
        // (the slide's own area here: 1000 mm2 capped at 100% of it).
        const QString advice = QString::fromStdString(none.slides[0].message);
        QVERIFY2(advice.startsWith(QStringLiteral("tissue detection (preset default): "))
                     && advice.contains(QStringLiteral("of the slide has the saturation of tissue"))
                     && advice.contains(QStringLiteral("but no piece of it is larger than the minimum tissue area of"))
                     && advice.contains(QStringLiteral("--min-tissue-area")),
                 qPrintable(advice));
        QVERIFY(!fs::exists(layout.tissueMaskFile(id)));
        QVERIFY(project::readPatchFile(layout.patchFile(id)).attributes.tissueSettings.find("\"preset\":\"default\"") != std::string::npos);
        // Training on it later says why there are no patches and what to change.
        const fs::path empty = layout.featureFile("tiny-cnn", id);
        const QString why = QString::fromStdString(project::noPatchesMessage(id, empty, project::readFeatureFile(empty).attributes));
        QVERIFY2(why.startsWith(QStringLiteral("Slide '%1' has no patches in '%2': tissue detection (preset default) kept no patch "
                                               "with at least 25% tissue. ")
                                    .arg(QString::fromStdString(id), QString::fromStdString(empty.string()))),
                 qPrintable(why));
        QVERIFY2(why.contains(QStringLiteral("choose the tissue preset bwh_biopsy")) && why.contains(QStringLiteral("--min-tissue")),
                 qPrintable(why));

        config.tiling.tissue = slide::TissueDetectionParams::preset("bwh_biopsy");
        const project::ExtractionReport biopsy = project::FeatureExtractor(config).run({m_slides[0]});
        QCOMPARE(int(biopsy.slides[0].status), int(project::SlideExtraction::Status::Extracted));
        QVERIFY(biopsy.slides[0].patches > 20);
        QCOMPARE(std::int64_t(project::readPatchFile(layout.patchFile(id)).coords.size()), biopsy.slides[0].patches);
        QVERIFY(fs::exists(layout.tissueMaskFile(id)));

        // The same settings again: nothing is redone.
        QCOMPARE(int(project::FeatureExtractor(config).run({m_slides[0]}).slides[0].status),
                 int(project::SlideExtraction::Status::Skipped));

        // A stricter minimum tissue per patch keeps fewer patches.
        config.tiling.grid.minTissueFraction = 0.95;
        const project::ExtractionReport strict = project::FeatureExtractor(config).run({m_slides[0]});
        QCOMPARE(int(strict.slides[0].status), int(project::SlideExtraction::Status::Extracted));
        QVERIFY(strict.slides[0].patches < biopsy.slides[0].patches);
        QCOMPARE(project::readFeatureFile(layout.featureFile("tiny-cnn", id)).count, strict.slides[0].patches);

        // Back to the first settings: no tissue, and the mask and contours of the biopsy tiling are gone.
        config.tiling.tissue = nothing;
        QCOMPARE(project::FeatureExtractor(config).run({m_slides[0]}).slides[0].patches, std::int64_t{0});
        QVERIFY(!fs::exists(layout.tissueMaskFile(id)));
        QVERIFY(!fs::exists(layout.tissueGeoJsonFile(id)));
    }

    void slidesWithoutPatchesSayWhy()
    {
        // Plain images as slides: bare glass, and stain too faint for the saturation threshold
        // (every channel within 7 of the glass's: saturation 7 < 8).
        const fs::path dir = freshDir(m_dir / "odd");
        fs::create_directories(dir);
        cv::Mat glass(1500, 2000, CV_8UC3, cv::Scalar(245, 245, 245));
        cv::Mat faint(1500, 2000, CV_8UC3, cv::Scalar(248, 248, 248));
        cv::ellipse(faint, cv::Point(1000, 750), cv::Size(600, 400), 0.0, 0.0, 360.0, cv::Scalar(241, 236, 243), cv::FILLED); // BGR
        QVERIFY(cv::imwrite((dir / "glass.png").string(), glass));
        QVERIFY(cv::imwrite((dir / "faint.png").string(), faint));
        const project::ProjectLayout layout(dir / "project");
        project::TilingConfig config;
        auto tile = [&](const std::string &name, const project::TilingConfig &settings) {
            const auto source = slide::SlideSource::open(dir / (name + ".png"));
            return project::SlideTiler(layout, settings).tile(*source, name);
        };

        const project::SlideTiling blank = tile("glass", config);
        QVERIFY(blank.grid.coords.empty());
        QCOMPARE(QString::fromStdString(blank.noPatches),
                 QStringLiteral("tissue detection (preset default): the slide looks blank (no part of it has a saturation above 8, "
                                "and none stands out from the rest)."));
        // The patch file is reused the second time, and the advice is the same.
        const project::SlideTiling again = tile("glass", config);
        QVERIFY(again.reused);
        QCOMPARE(again.noPatches, blank.noPatches);

        const project::SlideTiling pale = tile("faint", config);
        QVERIFY(pale.grid.coords.empty());
        const QString advice = QString::fromStdString(pale.noPatches);
        const int otsu = pale.tissueStats.otsuThreshold;
        QVERIFY2(otsu >= 0 && otsu < 8, qPrintable(advice));
        QVERIFY2(advice.contains(QStringLiteral("no part of the slide has a saturation above 8, but "))
                     && advice.endsWith(QStringLiteral("(Otsu's threshold): if that is faint tissue, lower the saturation threshold "
                                                       "(--saturation-threshold %1).")
                                            .arg(otsu)),
                 qPrintable(advice));
        // Following the advice finds the tissue (the ellipse: about 25% of the slide).
        config.tissue.saturationThreshold = otsu;
        const project::SlideTiling found = tile("faint", config);
        QVERIFY(!found.grid.coords.empty());
        QVERIFY2(std::abs(found.tissueFraction - 0.2513) < 0.02, qPrintable(QString::number(found.tissueFraction)));
        QVERIFY(found.noPatches.empty());
    }

    void badSlideIsReportedAndTheRunGoesOn()
    {
        const fs::path broken = m_dir / "broken.svs";
        {
            std::ifstream in(m_slides[0].path, std::ios::binary);
            std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            std::ofstream(broken, std::ios::binary) << bytes.substr(0, bytes.size() / 3);
        }
        const fs::path projectDir = freshDir(m_dir / "withbroken");
        const project::ExtractionReport report = project::FeatureExtractor(configFor(projectDir)).run({{"broken", broken}, m_slides[2]});
        QCOMPARE(report.slides.size(), std::size_t{2});
        QCOMPARE(int(report.slides[0].status), int(project::SlideExtraction::Status::Failed));
        QVERIFY2(QString::fromStdString(report.slides[0].message).startsWith(QStringLiteral("Cannot open slide")),
                 report.slides[0].message.c_str());
        QCOMPARE(int(report.slides[1].status), int(project::SlideExtraction::Status::Extracted));
        QCOMPARE(report.failed(), 1);
        QVERIFY(!fs::exists(project::ProjectLayout(projectDir).featureFile("tiny-cnn", "broken")));
    }

    void badEmbedderOrDeviceFailsAtOnce()
    {
        project::ExtractionConfig config = configFor(m_dir / "bad");
        config.embedder.name = "resnet-9000";
        QVERIFY_THROWS_EXCEPTION(std::exception, project::FeatureExtractor{config});
        config = configFor(m_dir / "bad");
        config.device = "gpu0";
        QVERIFY_THROWS_EXCEPTION(std::exception, project::FeatureExtractor{config});
    }
};

QTEST_GUILESS_MAIN(TstFeatureExtractor)
#include "tst_featureextractor.moc"
