// SPDX-License-Identifier: GPL-3.0-or-later
// LoopDurationEstimator: the arithmetic with made-up probe timings (CPU: reading and the model
// add up; CUDA: the slower of the readers and the device), the counts from a project's patch
// files (slides without one assumed at the mean), "no slides" as one sentence, and the real
// probe once on a tiny synthetic dataset with tiny-cnn: every timing measured, bounded, nothing
// written into the project, and a cancelled probe ending at once. No timing is checked.

#include "common/slidetestsupport.h"

#include "project/features/featurestore.h"
#include "project/loop/loopdurationestimate.h"
#include "project/projecterror.h"
#include "project/dataset/slidelist.h"
#include "project/dataset/syntheticdataset.h"
#include "slide/tissue/tissuedetectionparams.h"

#include <QElapsedTimer>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace icmil;
using namespace icmil::project;
namespace fs = std::filesystem;

namespace {

LoopWorkload tenSlides()
{
    LoopWorkload w;
    w.slides = 10;
    w.trainSlides = 8;
    w.validationSlides = 1;
    w.untiledSlides = 2;
    w.tiledPatches = 8000; // 1000 per tiled slide
    w.fineTuningIterations = 2;
    w.classifierEpochs = 50;
    w.fineTuneEpochs = 3;
    w.fineTunePatches = 2000;
    w.fineTuneValidationFraction = 0.1;
    w.maxValidationPatches = 500;
    w.readerThreads = 4;
    return w;
}

LoopProbeTimings fixedTimings(const std::string &device)
{
    LoopProbeTimings t;
    t.device = device;
    t.tilingPerSlide = 2.0;
    t.readPerPatch = 0.001;
    t.embedPerPatch = 0.004;
    t.distillPerPatch = 0.02;
    t.bagStep = 0.01;
    t.bagForward = 0.004;
    t.probedSlidePatches = 12345; // not used: some slides are tiled
    return t;
}

} // namespace

class TstLoopDurationEstimate : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_loopdurationestimate");
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
    }

    void cpuAddsReadingAndComputing()
    {
        const LoopDurationEstimate e = LoopDurationEstimator::estimate(tenSlides(), fixedTimings("cpu"));
        QCOMPARE(e.patches, std::int64_t{10000});
        QCOMPARE(e.bagSize, std::int64_t{1000});
        QCOMPARE(e.tilingSeconds, 4.0);                             // 2 untiled x 2 s
        QCOMPARE(e.extractionSeconds, 3 * 10000 * (0.001 + 0.004)); // 3 iterations x patches
        // 2 rounds x (3 epochs x 2000 patches x (read + step) + 4 validations x 500 held out x (read + 2 forwards))
        QCOMPARE(e.fineTuningSeconds, 2 * (3 * 2000 * (0.001 + 0.02) + 4 * 500 * (0.001 + 0.008)));
        // 3 iterations x (50 epochs x (8 steps + 1 forward) + 10 forwards)
        QCOMPARE(e.trainingSeconds, 3 * (50 * (8 * 0.01 + 0.004) + 10 * 0.004));
        QCOMPARE(e.totalSeconds, e.tilingSeconds + e.extractionSeconds + e.fineTuningSeconds + e.trainingSeconds);
        QVERIFY(std::abs(e.totalSeconds - 454.72) < 1e-9);
        QVERIFY2(QString::fromStdString(e.patchSource).contains(QStringLiteral("patch files of 8 slides")), e.patchSource.c_str());
    }

    void cudaTakesTheSlowerOfReadersAndDevice()
    {
        const LoopDurationEstimate e = LoopDurationEstimator::estimate(tenSlides(), fixedTimings("cuda:0"));
        QCOMPARE(e.extractionSeconds, 3 * 10000 * 0.004);
        QCOMPARE(e.fineTuningSeconds, 2 * (3 * 2000 * 0.02 + 4 * 500 * 0.008));
        LoopProbeTimings fastModel = fixedTimings("cuda:0");
        fastModel.embedPerPatch = 0.0001; // the 4 readers (0.00025 s a patch) set the pace
        QCOMPARE(LoopDurationEstimator::estimate(tenSlides(), fastModel).extractionSeconds, 3 * 10000 * 0.00025);
    }

    void untiledProjectUsesTheProbedSlide()
    {
        LoopWorkload w = tenSlides();
        w.untiledSlides = 10;
        w.tiledPatches = 0;
        const LoopDurationEstimate e = LoopDurationEstimator::estimate(w, fixedTimings("cpu"));
        QCOMPARE(e.patches, std::int64_t{123450});
        QCOMPARE(e.tilingSeconds, 20.0);
        QVERIFY(QString::fromStdString(e.patchSource).startsWith(QStringLiteral("no slide tiled yet")));
    }

    void countsPatchFiles()
    {
        const fs::path project = m_dir / "counted";
        std::vector<SlideEntry> slides;
        const std::string ids[] = {"s0", "s1", "s2", "s3"};
        for (int i = 0; i < 4; ++i) {
            const std::string &id = ids[i];
            slides.push_back({id, project / (id + ".svs")}); // never opened for the counts
            if (i == 3)
                continue; // not tiled
            PatchCoordinates patches;
            patches.slideId = id;
            patches.coords.assign(static_cast<std::size_t>(10 * (i + 1)), {0, 0});
            fs::create_directories(project / "patches");
            writePatchFile(project / "patches" / (id + ".h5"), patches);
        }
        IcmilLoopConfig config;
        config.projectRoot = project;
        config.iterations = 1;
        config.trainer.epochs = 7;
        config.split.valFraction = 0.25;
        config.split.testFraction = 0.25;
        config.fineTuning.epochs = 2;
        config.fineTuning.patchesPerEpoch = 300;
        config.extraction.readerThreads = 3;
        LoopDurationEstimator estimator(config, slides);
        const LoopWorkload w = estimator.workload();
        QCOMPARE(w.slides, 4);
        QCOMPARE(w.untiledSlides, 1);
        QCOMPARE(w.tiledPatches, std::int64_t{60});
        QCOMPARE(w.trainSlides, 2);
        QCOMPARE(w.validationSlides, 1);
        QCOMPARE(w.fineTuningIterations, 1);
        QCOMPARE(w.classifierEpochs, 7);
        QCOMPARE(w.fineTuneEpochs, 2);
        QCOMPARE(w.fineTunePatches, std::int64_t{300});
        QCOMPARE(w.readerThreads, 3);
        QCOMPARE(LoopDurationEstimator::estimate(w, fixedTimings("cpu")).patches, std::int64_t{80}); // the untiled one at the mean, 20
    }

    void noSlidesIsOneSentence()
    {
        fs::create_directories(m_dir / "empty");
        IcmilLoopConfig config;
        config.projectRoot = m_dir / "empty";
        LoopDurationEstimator estimator(config);
        try {
            estimator.run();
            QFAIL("no exception");
        } catch (const ProjectError &e) {
            QCOMPARE(QString::fromUtf8(e.what()),
                     QStringLiteral("No slides in '%1': nothing to estimate").arg(QString::fromStdString((m_dir / "empty").string())));
        }
    }

    void probesATinyDatasetWithoutWriting()
    {
        SyntheticDatasetConfig synth;
        synth.outputDir = m_dir / "dataset";
        synth.slides = 2;
        synth.seed = 5;
        synth.width = 2048;
        synth.height = 1536;
        if (!SyntheticDataset::madeWith(synth.outputDir, synth))
            SyntheticDataset(synth).generate();
        const fs::path project = m_dir / "probed";
        fs::remove_all(project);
        fs::create_directories(project);
        IcmilLoopConfig config;
        config.projectRoot = project;
        config.slides = synth.outputDir;
        config.device = "cpu";
        config.embedder.name = "tiny-cnn";
        config.extraction.tiling.tissue = slide::TissueDetectionParams::preset("bwh_biopsy");
        config.extraction.tiling.grid.targetMagnification = std::nullopt;
        config.extraction.tiling.grid.level = 0;
        config.model.embedDim = 32;
        config.model.attentionDim = 16;
        config.fineTuning.batchSize = 16;

        QElapsedTimer clock;
        clock.start();
        LoopDurationEstimator estimator(config);
        const LoopDurationEstimate e = estimator.run();
        qInfo(
            "probe %.2f s (%lld ms with set-up): read %.3f ms, embed %.3f ms, distil %.3f ms, bag step %.3f ms; total %.0f s for %lld patches",
            e.timings.seconds, clock.elapsed(), e.timings.readPerPatch * 1e3, e.timings.embedPerPatch * 1e3,
            e.timings.distillPerPatch * 1e3, e.timings.bagStep * 1e3, e.totalSeconds, static_cast<long long>(e.patches));
        QVERIFY(!estimator.cancelled());
        QCOMPARE(e.timings.device, std::string("cpu"));
        QCOMPARE(e.workload.slides, 2);
        QCOMPARE(e.workload.untiledSlides, 2);
        QVERIFY(e.timings.probedSlidePatches > 0);
        for (double t : {e.timings.tilingPerSlide, e.timings.readPerPatch, e.timings.embedPerPatch, e.timings.distillPerPatch,
                         e.timings.bagStep, e.timings.bagForward, e.totalSeconds})
            QVERIFY(std::isfinite(t) && t > 0.0);
        QVERIFY2(clock.elapsed() < 20000, "the probe is bounded"); // ~3 s of measuring; generous for a loaded machine
        QVERIFY(fs::is_empty(project));                            // nothing tiled or written

        // A slide that cannot be opened (the loop leaves it out) is passed over for the probe.
        const fs::path broken = m_dir / "broken.svs";
        std::ofstream(broken, std::ios::binary) << "not a slide";
        std::vector<SlideEntry> slides = listSlides(synth.outputDir).slides;
        slides.insert(slides.begin(), SlideEntry{"broken", broken});
        const LoopDurationEstimate skipped = LoopDurationEstimator(config, slides).run();
        QVERIFY(skipped.timings.probedSlidePatches > 0);
        QCOMPARE(skipped.workload.slides, 3);
        try {
            LoopDurationEstimator(config, {SlideEntry{"broken", broken}}).run();
            QFAIL("no error for a dataset of which no slide opens");
        } catch (const ProjectError &e) {
            QVERIFY2(QString::fromUtf8(e.what()).startsWith(QStringLiteral("No slide of the dataset can be opened: Cannot open slide '")),
                     e.what());
        }

        LoopDurationEstimator cancelled(config);
        cancelled.cancel();
        clock.restart();
        cancelled.run();
        QVERIFY(cancelled.cancelled());
        QVERIFY2(clock.elapsed() < 5000, qPrintable(QString::number(clock.elapsed())));
    }
};

QTEST_GUILESS_MAIN(TstLoopDurationEstimate)
#include "tst_loopdurationestimate.moc"
