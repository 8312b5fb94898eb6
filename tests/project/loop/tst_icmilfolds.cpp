// SPDX-License-Identifier: GPL-3.0-or-later
// The ICMIL loop on folds: mean and n-1 standard deviation per iteration on hand-made numbers
// (undefined AUCs skipped and counted), the folds summary's JSON round trip and its damaged-file
// messages, and a tiny loop on 3 folds of a synthetic project: one curve per fold, iteration 0's
// features extracted once, a cancel in the second fold resumed by the next run, a finished run
// that runs nothing again, and a summary equal to a hand computation from the folds' states.

#include "common/slidetestsupport.h"
#include "project/featuretestsupport.h"
#include "project/looptestsupport.h"

#include "project/loop/foldaggregate.h"
#include "project/loop/icmilfolds.h"
#include "project/projectlayout.h"
#include "project/dataset/syntheticdataset.h"
#include "slide/tissue/tissuedetectionparams.h"

#include <QtTest>

#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

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

// A finished iteration with the given figures; a negative AUC is an undefined one.
IterationSummary finished(int iteration, double valAuc, double valAccuracy, double testAuc, double testAccuracy)
{
    IterationSummary it;
    it.iteration = iteration;
    it.completedPhases = {"extract", "train"};
    IterationSplitFigures val, test;
    if (valAuc >= 0.0)
        val.auc = valAuc;
    val.accuracy = valAccuracy;
    if (testAuc >= 0.0)
        test.auc = testAuc;
    test.accuracy = testAccuracy;
    it.val = val;
    it.test = test;
    return it;
}

// Mean and n-1 standard deviation, written out.
std::pair<double, double> byHand(const std::vector<double> &values)
{
    double sum = 0.0;
    for (double v : values)
        sum += v;
    const double mean = sum / static_cast<double>(values.size());
    double squares = 0.0;
    for (double v : values)
        squares += (v - mean) * (v - mean);
    return {mean, values.size() < 2 ? 0.0 : std::sqrt(squares / static_cast<double>(values.size() - 1))};
}

void compareMeanSd(const MeanSd &value, const std::vector<double> &values)
{
    QCOMPARE(value.n, static_cast<int>(values.size()));
    const auto [mean, sd] = byHand(values);
    QVERIFY2(std::abs(value.mean - mean) < 1e-12, qPrintable(QStringLiteral("%1 vs %2").arg(value.mean).arg(mean)));
    QVERIFY2(std::abs(value.sd - sd) < 1e-12, qPrintable(QStringLiteral("%1 vs %2").arg(value.sd).arg(sd)));
}

void compareAggregates(const std::vector<FoldIterationAggregate> &a, const std::vector<FoldIterationAggregate> &b)
{
    QCOMPARE(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        QCOMPARE(a[i].iteration, b[i].iteration);
        QCOMPARE(a[i].folds, b[i].folds);
        QCOMPARE(a[i].valAucUndefined, b[i].valAucUndefined);
        QCOMPARE(a[i].testAucUndefined, b[i].testAucUndefined);
        const std::vector<std::pair<MeanSd, MeanSd>> pairs = {{a[i].valAuc, b[i].valAuc},
                                                              {a[i].testAuc, b[i].testAuc},
                                                              {a[i].valAccuracy, b[i].valAccuracy},
                                                              {a[i].testAccuracy, b[i].testAccuracy}};
        for (const auto &[x, y] : pairs) {
            QCOMPARE(x.n, y.n);
            QCOMPARE(x.mean, y.mean);
            QCOMPARE(x.sd, y.sd);
        }
    }
}

} // namespace

class TstIcmilFolds : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    fs::path m_dataset;

    FoldedIcmilLoopConfig config(const std::string &project) const
    {
        FoldedIcmilLoopConfig f;
        f.folds = 3;
        f.loop = test::tinyLoopConfig(m_dir / project, m_dataset, 1);
        f.loop.trainer.epochs = 20;
        f.loop.fineTuning.epochs = 1;
        f.loop.fineTuning.patchesPerEpoch = 32;
        f.loop.fineTuning.maxValidationPatches = 16;
        return f;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_icmilfolds");
        m_dataset = m_dir / "dataset";
        for (const fs::directory_entry &entry : fs::directory_iterator(m_dir)) // earlier runs' projects
            if (entry.path() != m_dataset)
                fs::remove_all(entry.path());
        SyntheticDatasetConfig synth;
        synth.outputDir = m_dataset;
        synth.slides = 8;
        synth.seed = 31;
        synth.width = 3072;
        synth.height = 2048;
        synth.positiveFraction = 0.5;
        const SyntheticDatasetResult dataset = SyntheticDataset(synth).generate();
        // Per class three slides to deal into 3 folds (one validation slide each) and one test slide.
        std::map<std::string, int> seen;
        std::string labels = "case_id,slide_id,label,split\n";
        for (const SyntheticSlideRecord &slide : dataset.slides)
            labels += slide.caseId + "," + slide.slideId + "," + slide.label + "," + (seen[slide.label]++ < 3 ? "train" : "test") + "\n";
        QCOMPARE(seen["tumor"], 4);
        QCOMPARE(seen["normal"], 4);
        std::ofstream(m_dataset / "labels.csv", std::ios::binary) << labels;
    }

    void meanAndSampleStandardDeviation()
    {
        const MeanSd none = meanSd({});
        QCOMPARE(none.n, 0);
        QCOMPARE(none.mean, 0.0);
        const MeanSd one = meanSd({0.75});
        QCOMPARE(one.n, 1);
        QCOMPARE(one.mean, 0.75);
        QCOMPARE(one.sd, 0.0);
        const MeanSd three = meanSd({1.0, 2.0, std::nan(""), 6.0});
        QCOMPARE(three.n, 3);
        QCOMPARE(three.mean, 3.0);
        QCOMPARE(three.sd, std::sqrt(7.0)); // (4 + 1 + 9) / (3 - 1)
    }

    void aggregatesIterationsOverTheFoldsThatFinishedThem()
    {
        // Fold 1's iteration 0 has no validation AUC; fold 2 has not finished iteration 1 (its
        // fine-tuning is done, training is not); fold 1 has no test split at iteration 1.
        std::vector<std::vector<IterationSummary>> folds(3);
        folds[0] = {finished(0, 0.80, 0.75, 0.70, 0.50), finished(1, 0.90, 1.00, 0.60, 0.75)};
        folds[1] = {finished(0, -1.0, 0.50, 0.90, 1.00), finished(1, 0.70, 0.50, 0.50, 0.50)};
        folds[1][1].test.reset();
        IterationSummary unfinished = finished(1, 0.99, 0.99, 0.99, 0.99);
        unfinished.completedPhases = {"finetune"};
        folds[2] = {finished(0, 0.60, 0.25, 0.80, 0.75), unfinished};

        const std::vector<FoldIterationAggregate> a = aggregateFolds(folds);
        QCOMPARE(a.size(), std::size_t{2});
        QCOMPARE(a[0].iteration, 0);
        QCOMPARE(a[0].folds, 3);
        compareMeanSd(a[0].valAuc, {0.80, 0.60});
        QCOMPARE(a[0].valAucUndefined, 1);
        compareMeanSd(a[0].testAuc, {0.70, 0.90, 0.80});
        QCOMPARE(a[0].testAucUndefined, 0);
        compareMeanSd(a[0].valAccuracy, {0.75, 0.50, 0.25});
        compareMeanSd(a[0].testAccuracy, {0.50, 1.00, 0.75});
        QCOMPARE(a[1].iteration, 1);
        QCOMPARE(a[1].folds, 2);
        compareMeanSd(a[1].valAuc, {0.90, 0.70});
        compareMeanSd(a[1].testAuc, {0.60});
        QCOMPARE(a[1].testAucUndefined, 1);
        compareMeanSd(a[1].valAccuracy, {1.00, 0.50});
        compareMeanSd(a[1].testAccuracy, {0.75});
        QVERIFY(aggregateFolds({}).empty());
    }

    void summaryRoundTripsAndNamesADamagedFile()
    {
        std::vector<std::vector<IterationSummary>> folds = {{finished(0, 0.8, 0.75, -1.0, 0.5)}, {finished(0, 0.6, 0.5, -1.0, 0.25)}};
        FoldsAggregate saved;
        saved.name = "icmil";
        saved.folds = 2;
        saved.loops = {"icmil-fold0", "icmil-fold1"};
        saved.iterations = aggregateFolds(folds);
        const fs::path json = m_dir / "summary" / "icmil-folds.json";
        const fs::path csv = m_dir / "summary" / "icmil-folds.csv";
        fs::create_directories(json.parent_path());
        writeFoldsAggregateJson(json, saved);
        writeFoldsAggregateCsv(csv, saved.iterations);
        const FoldsAggregate read = readFoldsAggregate(json);
        QCOMPARE(read.name, saved.name);
        QCOMPARE(read.folds, 2);
        QCOMPARE(read.loops, saved.loops);
        compareAggregates(read.iterations, saved.iterations);
        QCOMPARE(read.iterations[0].testAuc.n, 0);
        QCOMPARE(read.iterations[0].testAucUndefined, 2);
        QCOMPARE(QString::fromStdString(readText(csv)),
                 QStringLiteral("iteration,folds,val_auc_mean,val_auc_sd,test_auc_mean,test_auc_sd,val_accuracy_mean,val_accuracy_sd,"
                                "test_accuracy_mean,test_accuracy_sd\n"
                                "0,2,0.7,0.141421,,,0.625,0.176777,0.375,0.176777\n"));
        QCOMPARE(foldsAggregateJsonPath("/p", "icmil"), fs::path("/p/icmil/icmil-folds.json"));
        QCOMPARE(foldsAggregateCsvPath("/p", "icmil"), fs::path("/p/icmil/icmil-folds.csv"));

        const std::string text = readText(json);
        const fs::path damaged = m_dir / "summary" / "damaged.json";
        std::ofstream(damaged, std::ios::binary | std::ios::trunc) << text.substr(0, text.size() / 2);
        const QString error = test::projectErrorOf([&] { readFoldsAggregate(damaged); });
        QVERIFY2(error.startsWith(QStringLiteral("The ICMIL folds summary '%1' is damaged: ").arg(test::q(damaged))), qPrintable(error));
        FoldsAggregate oneLoop = saved;
        oneLoop.loops.pop_back();
        writeFoldsAggregateJson(damaged, oneLoop);
        QCOMPARE(test::projectErrorOf([&] { readFoldsAggregate(damaged); }),
                 QStringLiteral("The ICMIL folds summary '%1' is damaged: it names 1 loops for 2 folds").arg(test::q(damaged)));
        std::string format = text;
        format.replace(format.find("\"format\": 1"), 11, "\"format\": 9");
        std::ofstream(damaged, std::ios::binary | std::ios::trunc) << format;
        QCOMPARE(test::projectErrorOf([&] { readFoldsAggregate(damaged); }),
                 QStringLiteral("The ICMIL folds summary '%1' has format 9; this version reads format 1").arg(test::q(damaged)));
        // A number where a whole one belongs, out of int's range or with a fraction, is damage (found
        // by fuzzing: nlohmann's get<int> of 1e57 is undefined behaviour).
        for (const char *bad : {"1e57", "2.5", "4294967296", "-1e300"}) {
            std::string wrong = text;
            wrong.replace(wrong.find("\"format\": 1"), 11, std::string("\"format\": ") + bad);
            std::ofstream(damaged, std::ios::binary | std::ios::trunc) << wrong;
            const QString badError = test::projectErrorOf([&] { readFoldsAggregate(damaged); });
            QVERIFY2(badError.startsWith(QStringLiteral("The ICMIL folds summary '%1' is damaged: ").arg(test::q(damaged)))
                         && badError.contains(QStringLiteral("a whole number that fits is expected, not ")),
                     qPrintable(badError));
        }
        const fs::path missing = m_dir / "summary" / "missing.json";
        QCOMPARE(test::projectErrorOf([&] { readFoldsAggregate(missing); }),
                 QStringLiteral("Cannot read the ICMIL folds summary '%1'").arg(test::q(missing)));
    }

    void needsTwoFolds()
    {
        FoldedIcmilLoopConfig c = config("one-fold");
        c.folds = 1;
        QCOMPARE(test::projectErrorOf([&] { FoldedIcmilLoop(c).run(); }),
                 QStringLiteral("The ICMIL loop on folds needs at least 2 folds, not 1"));
        QVERIFY(!fs::exists(c.loop.projectRoot / "icmil"));
    }

    void runsOneCurvePerFoldResumesAndSharesIterationZero()
    {
        const FoldedIcmilLoopConfig c = config("folds");
        const ProjectLayout layout(c.loop.projectRoot);

        // Cancelled when the second fold starts fine-tuning: fold 0 is done, fold 1 has iteration 0.
        FoldedIcmilLoop first(c);
        std::vector<std::string> started;
        FoldedIcmilLoopEvents stop;
        stop.foldStarted = [&](int fold, int folds) { started.push_back(std::to_string(fold) + "/" + std::to_string(folds)); };
        stop.progress = [&](int fold, const LoopProgress &p) {
            if (fold == 1 && p.phase == "fine-tuning")
                first.cancel();
        };
        const FoldedIcmilLoopResult cancelled = first.run(stop);
        QVERIFY(cancelled.cancelled);
        QCOMPARE(started, (std::vector<std::string>{"0/3", "1/3"}));
        QCOMPARE(cancelled.folds.size(), std::size_t{2});
        QVERIFY(cancelled.folds[1].cancelled);
        QCOMPARE(cancelled.aggregate.size(), std::size_t{2});
        QCOMPARE(cancelled.aggregate[0].folds, 2);
        QCOMPARE(cancelled.aggregate[1].folds, 1);
        compareAggregates(readFoldsAggregate(cancelled.aggregateJson).iterations, cancelled.aggregate);

        // The same again: fold 0 runs nothing, fold 1 resumes its fine-tuning, fold 2 runs.
        std::map<int, std::vector<std::string>> phases;
        std::map<int, int> iterationsReported;
        FoldedIcmilLoopEvents events;
        started.clear();
        events.foldStarted = stop.foldStarted;
        events.phaseFinished = [&](int fold, int k, const std::string &phase) { phases[fold].push_back(std::to_string(k) + phase); };
        events.iterationFinished = [&](int fold, const IterationSummary &) { ++iterationsReported[fold]; };
        std::vector<int> foldsFinished;
        events.foldFinished = [&](int fold, const IcmilLoopResult &) { foldsFinished.push_back(fold); };
        const FoldedIcmilLoopResult result = FoldedIcmilLoop(c).run(events);
        QVERIFY(!result.cancelled);
        QCOMPARE(started, (std::vector<std::string>{"0/3", "1/3", "2/3"}));
        QCOMPARE(foldsFinished, (std::vector<int>{0, 1, 2}));
        QCOMPARE(phases[0], std::vector<std::string>{});
        QCOMPARE(phases[1], (std::vector<std::string>{"1finetune", "1extract", "1train"}));
        QCOMPARE(phases[2], (std::vector<std::string>{"0calibrate", "0extract", "0train", "1finetune", "1extract", "1train"}));
        QCOMPARE(result.folds[1].resumedAt, 1);
        QCOMPARE(iterationsReported[2], 2);

        // One curve per fold: its own state, iterations and runs; iteration 0's features shared.
        const std::string shared = FoldedIcmilLoop::sharedEncoderName("icmil");
        QCOMPARE(shared, std::string("icmil-folds-it0"));
        std::vector<std::vector<IterationSummary>> curves;
        std::set<std::string> validation;
        for (int fold = 0; fold < 3; ++fold) {
            const std::string loop = "icmil-fold" + std::to_string(fold);
            QCOMPARE(FoldedIcmilLoop::foldLoopName("icmil", fold), loop);
            const LoopState state = readLoopState(c.loop.projectRoot / "icmil" / loop / "state.json");
            QCOMPARE(state.iterations.size(), std::size_t{2});
            QVERIFY(fs::exists(c.loop.projectRoot / "icmil" / loop / "iterations.csv"));
            QCOMPARE(state.iterations[0].encoder, shared);
            QCOMPARE(state.iterations[1].encoder, loop + "-it1");
            QCOMPARE(result.folds[static_cast<std::size_t>(fold)].iterations.size(), std::size_t{2});
            for (const IterationSummary &it : state.iterations) {
                QVERIFY(it.completed("train"));
                QVERIFY(it.val && it.test && it.val->auc && it.test->auc);
                QCOMPARE(it.val->slides, 2);
                QCOMPARE(it.test->slides, 2);
                const std::string run = loop + "-it" + std::to_string(it.iteration);
                QVERIFY(fs::exists(layout.runDir(run) / "checkpoint.pth"));
                QVERIFY(fs::is_directory(layout.attentionDir(it.encoder, run)));
            }
            QVERIFY(!fs::exists(layout.featuresDir(loop + "-it0")));
            validation.insert(readText(layout.runDir(loop + "-it0") / "splits.csv"));
            curves.push_back(state.iterations);
        }
        QCOMPARE(validation.size(), std::size_t{3}); // each fold its own split
        // Folds 1 and 2 found every slide of iteration 0 extracted.
        const double extractOnce = result.folds[2].iterations[0].extractSeconds;
        qInfo("iteration 0 extraction: fold 0 %.2f s (in the cancelled run), fold 2 %.2f s (shared)",
              cancelled.folds[0].iterations[0].extractSeconds, extractOnce);
        QCOMPARE(result.folds[2].iterations[0].extractedPatches, cancelled.folds[0].iterations[0].extractedPatches);

        // The summary is the hand computation over the folds' states, in the result and the files.
        QCOMPARE(result.aggregate.size(), std::size_t{2});
        for (int k = 0; k < 2; ++k) {
            std::vector<double> valAuc, testAuc, valAccuracy, testAccuracy;
            for (const auto &curve : curves) {
                const IterationSummary &it = curve[static_cast<std::size_t>(k)];
                valAuc.push_back(*it.val->auc);
                testAuc.push_back(*it.test->auc);
                valAccuracy.push_back(it.val->accuracy);
                testAccuracy.push_back(it.test->accuracy);
            }
            const FoldIterationAggregate &a = result.aggregate[static_cast<std::size_t>(k)];
            QCOMPARE(a.iteration, k);
            QCOMPARE(a.folds, 3);
            compareMeanSd(a.valAuc, valAuc);
            compareMeanSd(a.testAuc, testAuc);
            compareMeanSd(a.valAccuracy, valAccuracy);
            compareMeanSd(a.testAccuracy, testAccuracy);
        }
        const FoldsAggregate saved = readFoldsAggregate(c.loop.projectRoot / "icmil" / "icmil-folds.json");
        QCOMPARE(saved.folds, 3);
        QCOMPARE(saved.loops, (std::vector<std::string>{"icmil-fold0", "icmil-fold1", "icmil-fold2"}));
        compareAggregates(saved.iterations, result.aggregate);
        const std::string csv = readText(c.loop.projectRoot / "icmil" / "icmil-folds.csv");
        QCOMPARE(std::count(csv.begin(), csv.end(), '\n'), 3L);

        // Run again: every fold is finished, nothing runs, the same summary.
        phases.clear();
        const FoldedIcmilLoopResult again = FoldedIcmilLoop(c).run(events);
        QVERIFY(!again.cancelled);
        QVERIFY(phases.empty());
        compareAggregates(again.aggregate, result.aggregate);
        // A run cancelled before it starts keeps the summary whole (from the folds' states).
        FoldedIcmilLoop early(c);
        early.cancel();
        const FoldedIcmilLoopResult none = early.run(events);
        QVERIFY(none.cancelled);
        QVERIFY(none.folds.empty());
        compareAggregates(readFoldsAggregate(none.aggregateJson).iterations, result.aggregate);
    }
};

QTEST_GUILESS_MAIN(TstIcmilFolds)
#include "tst_icmilfolds.moc"
