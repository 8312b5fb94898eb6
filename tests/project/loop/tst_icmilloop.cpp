// SPDX-License-Identifier: GPL-3.0-or-later
// The ICMIL loop on a small synthetic project: iterations 0..K with their outputs, resume after a
// crash between phases and after a cancel inside one (same result as a run never stopped),
// fine-tuning that never opens a test slide, cancellation within a second, settings that do not
// match a saved loop, and the sampling of the fine-tuning patches.

#include "common/freeport.h"
#include "common/loopbackjob.h"
#include "common/slidetestsupport.h"
#include "project/featuretestsupport.h"
#include "project/looptestsupport.h"

#include "engine/distributed/distributedgroup.h"
#include "engine/embedders/embedder.h"
#include "engine/torchfile/torchfile.h"
#include "engine/mil/milcheckpoint.h"
#include "project/loop/embedderfinetuning.h"
#include "project/features/featurestore.h"
#include "project/features/stainsettings.h"
#include "project/loop/icmilloop.h"
#include "project/projectlayout.h"
#include "project/dataset/slidelist.h"
#include "project/dataset/syntheticdataset.h"
#include "slide/tissue/tissuedetectionparams.h"

#include <QtTest>

#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <future>
#include <map>
#include <sstream>
#include <thread>

using namespace icmil;
using namespace icmil::project;
namespace fs = std::filesystem;

namespace {

std::string readText(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// iterations.csv without its three timing columns (they differ between runs).
std::string resultsOf(const fs::path &csv)
{
    std::stringstream in(readText(csv));
    std::string line, out;
    while (std::getline(in, line)) {
        for (int i = 0; i < 3; ++i)
            line = line.substr(0, line.rfind(','));
        out += line + "\n";
    }
    return out;
}

// A white 24-bit BMP: an image without tissue.
void writeWhiteBmp(const fs::path &path, int width, int height)
{
    const int row = (3 * width + 3) / 4 * 4;
    const std::uint32_t size = 54 + static_cast<std::uint32_t>(row * height);
    std::string header(54, '\0');
    const auto put = [&](std::size_t at, std::uint32_t value, int bytes) {
        for (int i = 0; i < bytes; ++i)
            header[at + static_cast<std::size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xff);
    };
    header[0] = 'B';
    header[1] = 'M';
    put(2, size, 4);
    put(10, 54, 4);
    put(14, 40, 4);
    put(18, static_cast<std::uint32_t>(width), 4);
    put(22, static_cast<std::uint32_t>(height), 4);
    put(26, 1, 2);
    put(28, 24, 2);
    std::ofstream out(path, std::ios::binary);
    out << header << std::string(static_cast<std::size_t>(row * height), '\xff');
}

struct CrashAfter : std::runtime_error {
    CrashAfter() : std::runtime_error("injected crash") { }
};

} // namespace

class TstIcmilLoop : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    fs::path m_dataset;
    std::map<std::string, std::string> m_split; // slide_id -> split
    std::map<std::string, std::string> m_label; // slide_id -> label

    // A project in its own folder that shares the dataset's slides and labels.
    // The training slides of the fixed split.
    std::vector<SlideEntry> trainingSlides() const
    {
        std::vector<SlideEntry> train;
        for (const SlideEntry &entry : listSlides(m_dataset).slides)
            if (m_split.at(entry.slideId) == "train")
                train.push_back(entry);
        return train;
    }

    // Fine-tuning on iteration 0's outputs of the first test (m_reference), as the loop sets it.
    FineTuningConfig fineTuningConfig() const
    {
        const IcmilLoopConfig c = config("full", 1);
        FineTuningConfig f = c.fineTuning;
        f.projectRoot = m_reference;
        f.slides = trainingSlides();
        f.tiling = c.extraction.tiling;
        return f;
    }

    IcmilLoopConfig config(const std::string &project, int iterations = 1) const
    {
        IcmilLoopConfig c = test::tinyLoopConfig(m_dir / project, m_dataset, iterations);
        c.trainer.epochs = 4;
        c.fineTuning.epochs = 2;
        c.fineTuning.patchesPerEpoch = 48;
        c.fineTuning.maxValidationPatches = 32;
        return c;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_icmilloop");
        m_dataset = m_dir / "dataset";
        for (const fs::directory_entry &entry : fs::directory_iterator(m_dir)) // earlier runs' projects
            if (entry.path() != m_dataset)
                fs::remove_all(entry.path());
        SyntheticDatasetConfig synth;
        synth.outputDir = m_dataset;
        synth.slides = 8;
        synth.seed = 31;
        synth.width = 4096;
        synth.height = 3072;
        synth.positiveFraction = 0.5;
        const SyntheticDatasetResult dataset = SyntheticDataset(synth).generate();
        // A fixed split: per class two train, one val, one test slide.
        std::map<std::string, int> seen;
        std::string labels = "case_id,slide_id,label,split\n";
        for (const SyntheticSlideRecord &slide : dataset.slides) {
            const int n = seen[slide.label]++;
            const std::string split = n < 2 ? "train" : n == 2 ? "val" : "test";
            m_split[slide.slideId] = split;
            m_label[slide.slideId] = slide.label;
            labels += slide.caseId + "," + slide.slideId + "," + slide.label + "," + split + "\n";
        }
        QCOMPARE(seen["tumor"], 4);
        QCOMPARE(seen["normal"], 4);
        std::ofstream(m_dataset / "labels.csv", std::ios::binary) << labels;
    }

    void runsIterationsAndContinuesWithMore()
    {
        IcmilLoopConfig c = config("full", 1);
        std::vector<std::string> phases;
        int iterationsReported = 0, fineTuningEpochs = 0, classifierEpochs = 0;
        IcmilLoopEvents events;
        events.phaseFinished = [&](int k, const std::string &phase) { phases.push_back(std::to_string(k) + phase); };
        events.iterationFinished = [&](const IterationSummary &) { ++iterationsReported; };
        events.fineTuningEpochFinished = [&](int, const FineTuningEpoch &) { ++fineTuningEpochs; };
        events.epochFinished = [&](int, const engine::EpochReport &) { ++classifierEpochs; };
        const IcmilLoopResult result = IcmilLoop(c).run(events);
        QVERIFY(!result.cancelled);
        QCOMPARE(result.resumedAt, -1);
        QCOMPARE(phases, (std::vector<std::string>{"0calibrate", "0extract", "0train", "1finetune", "1extract", "1train"}));
        QCOMPARE(iterationsReported, 2);
        QCOMPARE(fineTuningEpochs, 2);
        QCOMPARE(classifierEpochs, 8);
        QCOMPARE(result.iterations.size(), std::size_t{2});

        const ProjectLayout layout(c.projectRoot);
        for (const IterationSummary &it : result.iterations) {
            QVERIFY(it.val && it.test && it.val->auc && it.test->auc);
            QCOMPARE(it.val->slides, 2);
            QCOMPARE(it.test->slides, 2);
            QVERIFY(fs::exists(layout.runDir(it.encoder) / "predictions.csv"));
            QVERIFY(fs::exists(layout.runDir(it.encoder) / "checkpoint.pth"));
            for (const auto &[slideId, split] : m_split) {
                QVERIFY(fs::exists(layout.featureFile(it.encoder, slideId)));
                QVERIFY(fs::exists(layout.attentionFile(it.encoder, it.encoder, slideId)));
            }
        }
        const IterationSummary &tuned = result.iterations[1];
        QVERIFY(tuned.fineTuneBestEpoch >= 0);
        QVERIFY(tuned.fineTunePatchesPerSecond > 0.0);
        QVERIFY(tuned.extractedPatches > 100);
        QVERIFY(fs::exists(c.projectRoot / "icmil" / "icmil" / "embedder-it1.pth"));
        // Iteration 0's randomly initialised tiny-cnn had its batch-norm statistics estimated on
        // the dataset's patches: its calibrated copy is in the loop folder, named relative to it.
        QCOMPARE(result.iterations[0].embedderWeights, fs::path("embedder-it0.pth"));
        {
            engine::EmbedderConfig calibrated = c.embedder;
            calibrated.weights = c.projectRoot / "icmil" / "icmil" / "embedder-it0.pth";
            const auto read = [](const engine::EmbedderConfig &config) {
                std::unique_ptr<engine::Embedder> embedder = engine::makeEmbedder(config);
                torch::NoGradGuard noGrad;
                return embedder->forward(torch::full({2, 3, 64, 64}, 0.6));
            };
            QVERIFY(!torch::equal(read(calibrated), read(c.embedder)));
        }
        // The fine-tuned embedder gives other features than iteration 0's.
        const SlideFeatures before = readFeatureFile(layout.featureFile("icmil-it0", m_split.begin()->first));
        const SlideFeatures after = readFeatureFile(layout.featureFile("icmil-it1", m_split.begin()->first));
        QCOMPARE(before.coords, after.coords);
        QVERIFY(before.features != after.features);
        const std::string csv = readText(result.iterationsCsv);
        QCOMPARE(std::count(csv.begin(), csv.end(), '\n'), 3L);

        // Asking for one more iteration continues the finished loop.
        c.iterations = 2;
        phases.clear();
        const IcmilLoopResult more = IcmilLoop(c).run(events);
        QCOMPARE(more.resumedAt, 2);
        QCOMPARE(phases, (std::vector<std::string>{"2finetune", "2extract", "2train"}));
        QCOMPARE(more.iterations.size(), std::size_t{3});
        QCOMPARE(resultsOf(more.iterationsCsv).substr(0, resultsOf(result.iterationsCsv).size()), resultsOf(result.iterationsCsv));

        // Other settings: one clear error naming them, nothing touched.
        const std::string stateBefore = readText(result.stateFile);
        c.trainer.epochs = 5;
        QCOMPARE(test::projectErrorOf([&] { IcmilLoop(c).run(); }),
                 QStringLiteral("The ICMIL loop 'icmil' in '%1' was run with other settings (trainer.epochs was 4, now 5): use the "
                                "same settings to resume it, or start it again (Train in the app, --overwrite on the command line; "
                                "--name keeps both)")
                     .arg(test::q(c.projectRoot)));
        // The tissue detector's settings shape the patches, so they count too, the preset first.
        c.trainer.epochs = 4;
        c.extraction.tiling.tissue = slide::TissueDetectionParams::preset("tcga");
        const QString tissue = test::projectErrorOf([&] { IcmilLoop(c).run(); });
        QVERIFY2(tissue.contains(QStringLiteral("(tissue.preset was bwh_biopsy, now tcga, tissue.close_kernel was 2, now 4, ")),
                 qPrintable(tissue));
        c.extraction.tiling.tissue = slide::TissueDetectionParams::preset("bwh_biopsy");
        c.extraction.tiling.tissue.useOtsu = true;
        QVERIFY(test::projectErrorOf([&] { IcmilLoop(c).run(); }).contains(QStringLiteral("(tissue.otsu was false, now true)")));
        c.extraction.tiling.tissue.useOtsu = false;
        c.extraction.tiling.grid.minTissueFraction = 0.5;
        QVERIFY(
            test::projectErrorOf([&] { IcmilLoop(c).run(); }).contains(QStringLiteral("(tissue.min_tissue_per_patch was 0.25, now 0.5)")));
        QCOMPARE(readText(result.stateFile), stateBefore);
        m_reference = c.projectRoot;
    }

    void savedSettingsReadBackAsTheyWereSaved()
    {
        // The app shows a saved loop's settings (loopConfigFromSettings): every one of them must
        // come back, or Resume would be refused.
        IcmilLoopConfig c = config("readback", 2);
        c.model.type = engine::MilModelType::Dtfd;
        c.model.distillation = engine::DtfdDistillation::MaxMinS;
        c.model.dropout = 0.25;
        c.trainer.lrMilestones = {10, 20};
        c.trainer.earlyStoppingPatience = 7;
        c.split.valFraction = 0.3;
        c.classNames = {"normal", "tumor"};
        c.extraction.tiling.tissue = slide::TissueDetectionParams::preset("tcga");
        c.extraction.tiling.tissue.useOtsu = true;
        c.extraction.tiling.grid.targetMagnification = 10.0;
        c.extraction.tiling.grid.minTissueFraction = 0.6;
        c.extraction.halfPrecision = true;
        c.fineTuning.distillation.teacherTemperature = 0.5;
        c.fineTuning.distillation.confidenceWeighted = true;
        c.fineTuning.distillation.augmentation.minScale = 0.7;
        c.calibrationPatches = 123;
        c.extraction.stain.method = engine::StainMethod::Reinhard;
        c.extraction.stain.reference.labMean = {-0.7, 0.03, 0.01};
        c.extraction.stain.referenceSource = "reference.tiff@10,20,300,400";
        c.fineTuning.distillation.augmentation.stainJitter = 0.05;
        const std::string saved = IcmilLoop(c).settingsJson();
        const IcmilLoopConfig back = loopConfigFromSettings(saved, IcmilLoopConfig{});
        const std::vector<std::string> changes = loopSettingsChanges(saved, IcmilLoop(back).settingsJson());
        QVERIFY2(changes.empty(), changes.empty() ? "" : changes.front().c_str());
        QCOMPARE(back.extraction.tiling.tissue.presetName, std::string("tcga"));
        QVERIFY(back.extraction.tiling.tissue.useOtsu);
        QCOMPARE(back.calibrationPatches, std::int64_t{123});
        QVERIFY(back.extraction.stain == c.extraction.stain);
        QCOMPARE(back.fineTuning.distillation.augmentation.stainJitter, 0.05);
        QCOMPARE(test::projectErrorOf([] { loopConfigFromSettings("{\"model\": {\"type\": \"transmil\"}}", IcmilLoopConfig{}); }),
                 QStringLiteral("Cannot read the saved loop's settings: Unknown MIL model 'transmil': expected abmil, maxpool or dtfd"));
        QVERIFY(test::projectErrorOf([] {
                    loopConfigFromSettings("{not json", IcmilLoopConfig{});
                }).startsWith(QStringLiteral("Cannot read the saved loop's settings: ")));
    }

    void stainNormalisationReachesEveryPhase()
    {
        // Macenko in calibration, extraction and fine-tuning (with HED jitter): every phase runs,
        // every iteration's features record it, and the calibrated embedder saw normalised
        // patches (its statistics differ from an unnormalised loop's).
        IcmilLoopConfig c = config("stain", 1);
        c.name = "stain";
        c.extraction.stain.method = engine::StainMethod::Macenko;
        c.fineTuning.distillation.augmentation.stainJitter = 0.05;
        std::vector<std::string> phases;
        IcmilLoopEvents events;
        events.phaseFinished = [&](int k, const std::string &phase) { phases.push_back(std::to_string(k) + phase); };
        const IcmilLoopResult result = IcmilLoop(c).run(events);
        QCOMPARE(phases, (std::vector<std::string>{"0calibrate", "0extract", "0train", "1finetune", "1extract", "1train"}));
        QCOMPARE(result.iterations.size(), std::size_t{2});
        const std::string key = stainSettingsKey(c.extraction.stain);
        for (const char *encoder : {"stain-it0", "stain-it1"}) {
            int files = 0;
            for (const fs::directory_entry &file : fs::directory_iterator(m_dir / "stain" / "features" / encoder)) {
                if (file.path().extension() != ".h5")
                    continue; // attention/
                const FeatureFileSummary summary = describeFeatureFile(file.path());
                QCOMPARE(summary.attributes.stainSettings, key);
                QVERIFY(!summary.attributes.stainProfile.empty());
                ++files;
            }
            QCOMPARE(files, 8);
        }
        IcmilLoopConfig plain = config("stain-plain", 0);
        plain.name = "stain-plain";
        IcmilLoop(plain).run();
        auto bytes = [](const fs::path &file) {
            std::ifstream in(file, std::ios::binary);
            return std::string(std::istreambuf_iterator<char>(in), {});
        };
        QVERIFY(bytes(m_dir / "stain" / "icmil" / "stain" / "embedder-it0.pth")
                != bytes(m_dir / "stain-plain" / "icmil" / "stain-plain" / "embedder-it0.pth"));
    }

    void calibratesOnlyARandomlyInitialisedBuiltIn()
    {
        // Off (0 patches): iteration 0 is the embedder as initialised, and no calibration phase.
        IcmilLoopConfig c = config("uncalibrated", 0);
        c.calibrationPatches = 0;
        std::vector<std::string> phases;
        IcmilLoopEvents events;
        events.phaseFinished = [&](int k, const std::string &phase) { phases.push_back(std::to_string(k) + phase); };
        const IcmilLoopResult off = IcmilLoop(c).run(events);
        QCOMPARE(phases, (std::vector<std::string>{"0extract", "0train"}));
        QCOMPARE(off.iterations[0].embedderWeights, fs::path());
        QVERIFY(!fs::exists(c.projectRoot / "icmil" / "uncalibrated" / "embedder-it0.pth"));

        // Weights of the user's: used as they are.
        const fs::path weights = m_dir / "given-tiny-cnn.pth";
        engine::makeEmbedder(c.embedder)->save(weights);
        c = config("given", 0);
        c.embedder.weights = weights;
        phases.clear();
        const IcmilLoopResult given = IcmilLoop(c).run(events);
        QCOMPARE(phases, (std::vector<std::string>{"0extract", "0train"}));
        QCOMPARE(given.iterations[0].embedderWeights, weights);

        // Changing the calibration changes the results, so a loop refuses to resume with another.
        c = config("uncalibrated", 0);
        QVERIFY(test::projectErrorOf([&] { IcmilLoop(c).run(); }).contains(QStringLiteral("was run with other settings")));
    }

    void resumesAfterACrashAndACancelWithTheSameResult()
    {
        const fs::path reference = m_dir / "full";
        // A crash right after iteration 1's fine-tuning was recorded: extraction and training run on resume.
        IcmilLoopConfig c = config("crash", 1);
        IcmilLoopEvents crash;
        crash.phaseFinished = [](int k, const std::string &phase) {
            if (k == 1 && phase == "finetune")
                throw CrashAfter();
        };
        QVERIFY_THROWS_EXCEPTION(CrashAfter, IcmilLoop(c).run(crash));
        const IcmilLoopResult resumed = IcmilLoop(c).run();
        QCOMPARE(resumed.resumedAt, 1);
        QCOMPARE(QString::fromStdString(resumed.resumedPhase), QStringLiteral("extract"));
        QCOMPARE(resultsOf(resumed.iterationsCsv),
                 resultsOf(reference / "icmil" / "icmil" / "iterations.csv").substr(0, resultsOf(resumed.iterationsCsv).size()));
        QCOMPARE(readText(c.projectRoot / "runs" / "icmil-it1" / "predictions.csv"),
                 readText(reference / "runs" / "icmil-it1" / "predictions.csv"));

        // A cancel in the middle of fine-tuning: that phase is not recorded and runs again.
        IcmilLoopConfig d = config("cancel", 1);
        IcmilLoop cancelled(d);
        IcmilLoopEvents stop;
        stop.progress = [&](const LoopProgress &p) {
            if (p.phase == "fine-tuning" && p.step.rfind("epoch", 0) == 0)
                cancelled.cancel();
        };
        const IcmilLoopResult partial = cancelled.run(stop);
        QVERIFY(partial.cancelled);
        QCOMPARE(partial.iterations.size(), std::size_t{1});
        const IcmilLoopResult finished = IcmilLoop(d).run();
        QCOMPARE(finished.resumedAt, 1);
        QCOMPARE(QString::fromStdString(finished.resumedPhase), QStringLiteral("finetune"));
        QCOMPARE(readText(d.projectRoot / "runs" / "icmil-it1" / "predictions.csv"),
                 readText(reference / "runs" / "icmil-it1" / "predictions.csv"));
    }

    void fineTuningNeverOpensATestSlide()
    {
        // Its own copy of the dataset; after iteration 0 the validation and test slides are
        // replaced by files no reader opens. Fine-tuning (train slides only) still works; the
        // re-extraction that needs every slide then fails with one clear error.
        const fs::path copy = m_dir / "dataset-copy";
        fs::remove_all(copy);
        fs::create_directories(copy / "slides");
        fs::copy_file(m_dataset / "labels.csv", copy / "labels.csv");
        for (const fs::directory_entry &entry : fs::directory_iterator(m_dataset / "slides"))
            fs::copy_file(entry.path(), copy / "slides" / entry.path().filename());
        IcmilLoopConfig c = config("untouched", 1);
        c.slides = copy;
        c.strict = true; // else the re-extraction would leave the replaced slides out
        std::vector<std::string> phases;
        IcmilLoopEvents events;
        events.phaseFinished = [&](int k, const std::string &phase) {
            phases.push_back(std::to_string(k) + phase);
            if (k == 0 && phase == "train")
                for (const auto &[slideId, split] : m_split)
                    if (split != "train")
                        std::ofstream(findSlideFile(copy, slideId), std::ios::binary | std::ios::trunc) << "not a slide";
        };
        const QString error = test::projectErrorOf([&] { IcmilLoop(c).run(events); });
        QCOMPARE(phases, (std::vector<std::string>{"0calibrate", "0extract", "0train", "1finetune"}));
        QVERIFY2(error.startsWith(QStringLiteral("Feature extraction failed for 4 slide(s): ")), qPrintable(error));
    }

    void leavesOutSlidesItCannotUseUnlessStrict()
    {
        // The dataset plus three rows the loop cannot use: a slide file that is not a slide, a
        // row without a file, and a blank image without tissue. They are left out, named, and
        // the other slides keep their split; --strict stops at the first two instead.
        const fs::path copy = m_dir / "dataset-leftout";
        fs::remove_all(copy);
        fs::create_directories(copy / "slides");
        for (const fs::directory_entry &entry : fs::directory_iterator(m_dataset / "slides"))
            fs::create_hard_link(entry.path(), copy / "slides" / entry.path().filename());
        std::string brokenId;
        for (const auto &[slideId, split] : m_split)
            if (split == "train" && brokenId.empty())
                brokenId = slideId;
        fs::remove(findSlideFile(copy, brokenId));
        std::ofstream(copy / "slides" / (brokenId + ".svs"), std::ios::binary) << "not a slide, cut short";
        writeWhiteBmp(copy / "slides" / "blank.bmp", 1024, 768);
        std::ofstream(copy / "labels.csv", std::ios::binary)
            << readText(m_dataset / "labels.csv") << "blank,blank,normal,train\nghost,ghost,tumor,val\n";

        IcmilLoopConfig c = config("leftout", 1);
        c.slides = copy;
        std::vector<std::string> messages;
        IcmilLoopEvents events;
        events.message = [&](const std::string &text) { messages.push_back(text); };
        const IcmilLoopResult result = IcmilLoop(c).run(events);
        QVERIFY(!result.cancelled);
        QCOMPARE(result.iterations.size(), std::size_t{2});
        std::vector<std::string> leftOut;
        for (const LeftOutSlide &slide : result.leftOut)
            leftOut.push_back(slide.slideId);
        std::sort(leftOut.begin(), leftOut.end());
        std::vector<std::string> expected{"blank", brokenId, "ghost"};
        std::sort(expected.begin(), expected.end());
        QCOMPARE(leftOut, expected);
        const auto said = [&](const std::string &start) {
            return std::any_of(messages.begin(), messages.end(), [&](const std::string &m) { return m.rfind(start, 0) == 0; });
        };
        QVERIFY(said("Leaving out 2 of 10 slide(s) that cannot be read: "));
        QVERIFY(said("Leaving out 1 slide(s) without tissue patches (blank): tissue detection"));
        // Both iterations went on without them; the state remembers which, for a resume.
        for (const IterationSummary &it : result.iterations) {
            QCOMPARE(it.leftOut.size(), std::size_t{3});
            QCOMPARE(it.val->slides, 2);
            const std::string predictions = readText(ProjectLayout(c.projectRoot).runDir(it.encoder) / "predictions.csv");
            QVERIFY(predictions.find(brokenId) == std::string::npos);
            QVERIFY(predictions.find("blank") == std::string::npos);
        }
        QCOMPARE(readLoopState(result.stateFile).iterations.back().leftOut.size(), std::size_t{3});

        c = config("leftout-strict", 1);
        c.slides = copy;
        c.strict = true;
        const QString strict = test::projectErrorOf([&] { IcmilLoop(c).run(); });
        QVERIFY2(strict.startsWith(QStringLiteral("2 of 10 slide(s) cannot be read: ")), qPrintable(strict));
        QVERIFY2(strict.contains(QStringLiteral("ghost (no slide file in '")), qPrintable(strict));
        QVERIFY2(strict.contains(QString::fromStdString(brokenId + " (Cannot open slide '")), qPrintable(strict));
    }

    void cancelIsAnsweredWithinASecond()
    {
        for (const std::string phase : {"calibrating", "extracting", "training", "fine-tuning"}) {
            IcmilLoopConfig c = config("cancel-" + phase, 1);
            c.trainer.epochs = 200;
            c.fineTuning.epochs = 50;
            IcmilLoop loop(c);
            std::atomic_bool seen{false};
            IcmilLoopEvents events;
            events.progress = [&](const LoopProgress &p) {
                if (p.phase == phase)
                    seen = true;
            };
            IcmilLoopResult result;
            std::thread worker([&] { result = loop.run(events); });
            while (!seen)
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            const auto asked = std::chrono::steady_clock::now();
            loop.cancel();
            worker.join();
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count();
            QVERIFY(result.cancelled);
            QVERIFY2(seconds < 1.0, qPrintable(QStringLiteral("%1: %2 s").arg(QString::fromStdString(phase)).arg(seconds)));
        }
    }

    void fineTuningSamplesTrainingSlidesAndPicksTheBestStudent()
    {
        // On iteration 0's outputs of the first test: the pool is exactly the given slides' patches.
        const fs::path root = m_reference;
        QVERIFY(!root.empty());
        const std::vector<SlideEntry> train = trainingSlides();
        std::int64_t patches = 0;
        for (const SlideEntry &entry : train)
            patches += static_cast<std::int64_t>(readPatchFile(ProjectLayout(root).patchFile(entry.slideId)).coords.size());
        const IcmilLoopConfig c = config("full", 1);
        FineTuningConfig f = fineTuningConfig();
        f.epochs = 3;
        f.output = m_dir / "student.pth";
        engine::EmbedderConfig e = c.embedder;
        auto embedder = engine::makeEmbedder(e);
        auto classifier = engine::instantiateMilModel(engine::readMilCheckpoint(root / "runs" / "icmil-it0" / "checkpoint.pth"));
        const FineTuningResult result = EmbedderFineTuning(f, *embedder, *classifier).run();
        QCOMPARE(result.trainingPatches + result.validationPatches, patches);
        QCOMPARE(result.validationPatches, std::min<std::int64_t>(32, std::llround(0.1 * static_cast<double>(patches))));
        QCOMPARE(result.history.size(), std::size_t{3});
        double best = result.history[0].validationMae;
        int bestEpoch = 0;
        for (const FineTuningEpoch &epoch : result.history) {
            QCOMPARE(epoch.patches, std::int64_t{48});
            if (epoch.validationMae < best) {
                best = epoch.validationMae;
                bestEpoch = epoch.epoch;
            }
        }
        QCOMPARE(result.bestEpoch, bestEpoch);
        QCOMPARE(result.bestMae, best);
        // The saved student is the best epoch's: its held-out error is reproduced from the file.
        e.weights = f.output;
        QVERIFY(fs::exists(f.output));
        QVERIFY(engine::makeEmbedder(e)->featureDim() == 128);

        // Bag labels as instance labels: the normal training slides' patches are taught class 0
        // (what the teacher alone does not say), so the same draws give other losses.
        FineTuningConfig known = f;
        known.output = m_dir / "student-known.pth";
        known.negativeClass = 0;
        for (const SlideEntry &entry : train)
            if (m_label.at(entry.slideId) == "normal")
                known.negativeSlides.push_back(entry.slideId);
        QCOMPARE(known.negativeSlides.size(), std::size_t{2});
        const FineTuningResult taught = EmbedderFineTuning(known, *embedder, *classifier).run();
        QCOMPARE(taught.history.size(), std::size_t{3});
        QVERIFY(taught.history[0].loss.student > 1.5 * result.history[0].loss.student);

        f.slides.clear();
        QCOMPARE(test::projectErrorOf([&] { EmbedderFineTuning(f, *embedder, *classifier).run(); }),
                 QStringLiteral("Fine-tuning needs at least one training slide"));
    }

    void fineTuningOnTwoRanksIsOneProcessWithTheSameBatch()
    {
        if (!engine::DistributedGroup::backendAvailable("gloo"))
            QSKIP("this build has no Gloo headers (libgloo-dev)");
        const fs::path root = m_reference;
        QVERIFY(!root.empty());
        const IcmilLoopConfig c = config("full", 1);
        FineTuningConfig f = fineTuningConfig();
        const std::vector<SlideEntry> &train = f.slides;
        f.epochs = 2;
        f.patchesPerEpoch = 45; // batches of 16, 16 and 13 (6 + 7 over two ranks)
        f.distillation.learningRate = 1e-3;
        f.distillation.teacherTemperature = 0.5;
        f.distillation.confidenceWeighted = true;
        f.distillation.augmentation.stainJitter = 0.05;
        f.negativeClass = 0;
        for (const SlideEntry &entry : train)
            if (m_label.at(entry.slideId) == "normal")
                f.negativeSlides.push_back(entry.slideId);
        f.output = m_dir / "student-one-process.pth";
        const engine::EmbedderConfig e = c.embedder;
        auto embedder = engine::makeEmbedder(e);
        auto classifier = engine::instantiateMilModel(engine::readMilCheckpoint(root / "runs" / "icmil-it0" / "checkpoint.pth"));
        const FineTuningResult single = EmbedderFineTuning(f, *embedder, *classifier).run();

        FineTuningConfig d = f;
        d.output = m_dir / "student-two-ranks.pth";
        fs::remove(d.output);
        const int port = test::freeLoopbackPort();
        auto rank = [&](int r) {
            engine::DistributedGroup group(test::loopbackSettings(r, 2, port, std::chrono::seconds(120)));
            FineTuningConfig mine = d;
            mine.readerThreads = 1;
            return EmbedderFineTuning(mine, *embedder, *classifier, &group).run();
        };
        auto other = std::async(std::launch::async, rank, 1);
        const FineTuningResult rank0 = rank(0);
        const FineTuningResult rank1 = other.get();

        QCOMPARE(rank0.history.size(), single.history.size());
        QCOMPARE(rank0.bestEpoch, single.bestEpoch);
        QCOMPARE(rank1.bestEpoch, single.bestEpoch);
        for (std::size_t i = 0; i < single.history.size(); ++i) {
            QCOMPARE(rank0.history[i].patches, std::int64_t{45});
            QVERIFY(std::abs(rank0.history[i].loss.total - single.history[i].loss.total) <= 1e-5 * single.history[i].loss.total);
            QVERIFY(std::abs(rank0.history[i].validationMae - single.history[i].validationMae) <= 1e-5 * single.history[i].validationMae);
            QCOMPARE(rank1.history[i].validationMae, rank0.history[i].validationMae);
        }
        // Rank 0 wrote the best student; its weights are the one process's within 1e-5.
        const engine::StateDict one = engine::readStateDict(f.output);
        const engine::StateDict two = engine::readStateDict(d.output);
        embedder->save(m_dir / "student-initial.pth");
        const engine::StateDict before = engine::readStateDict(m_dir / "student-initial.pth");
        double difference = 0.0, norm = 0.0, moved = 0.0;
        QCOMPARE(two.size(), one.size());
        for (const auto &[name, tensor] : one.entries()) {
            const torch::Tensor *other = two.find(name);
            const torch::Tensor *initial = before.find(name);
            QVERIFY2(other && initial, name.c_str());
            difference += (other->to(torch::kDouble) - tensor.to(torch::kDouble)).pow(2).sum().item<double>();
            norm += tensor.to(torch::kDouble).pow(2).sum().item<double>();
            moved += (initial->to(torch::kDouble) - tensor.to(torch::kDouble)).pow(2).sum().item<double>();
        }
        qInfo("two ranks vs one process: relative difference %.3g; fine-tuning moved the weights %.3g", std::sqrt(difference / norm),
              std::sqrt(moved / norm));
        QVERIFY(std::sqrt(moved / norm) > 1e-3);
        QVERIFY(std::sqrt(difference / norm) < 1e-5);
    }

    void negativeClassMustBeALabel()
    {
        IcmilLoopConfig c = config("negative", 1);
        c.negativeClass = "benign";
        QCOMPARE(test::projectErrorOf([&] { IcmilLoop(c).run(); }),
                 QStringLiteral("The negative class 'benign' is not a label in labels.csv (its labels: normal, tumor)"));
    }

private:
    fs::path m_reference;
};

QTEST_GUILESS_MAIN(TstIcmilLoop)
#include "tst_icmilloop.moc"
