// SPDX-License-Identifier: GPL-3.0-or-later
// Training and prediction on a project: the run folder, predictions that a checkpoint reproduces,
// attention files, CSV exports, and the dataset errors a user can make.

#include "project/featuretestsupport.h"

#include "project/training/attentionstore.h"
#include "project/training/bagdataset.h"
#include "project/features/featurestore.h"
#include "project/training/milprediction.h"
#include "project/training/miltraining.h"
#include "project/training/predictiontable.h"
#include "project/projectlayout.h"

#include <QtTest>

#include <ATen/CPUGeneratorImpl.h>

#include <fstream>
#include <sstream>

using namespace icmil;
using namespace icmil::project;
using icmil::test::projectErrorOf;
namespace fs = std::filesystem;

namespace {

constexpr int kDim = 16;

std::string readText(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void writeText(const fs::path &path, const std::string &text)
{
    std::ofstream(path, std::ios::binary) << text;
}

// A project with `slides` feature files (encoder "toy") and a labels.csv: even slides normal,
// odd slides tumor with 15% of their patches shifted by +2 in the first 4 features.
fs::path makeProject(const std::string &name, int slides)
{
    const fs::path root = fs::path(qEnvironmentVariable("ICMIL_TEST_SCRATCH").toStdString()) / name;
    fs::remove_all(root);
    const ProjectLayout layout(root);
    fs::create_directories(layout.featuresDir("toy"));
    auto generator = at::make_generator<at::CPUGeneratorImpl>(11);
    std::string labels = "case_id,slide_id,label\n";
    for (int i = 0; i < slides; ++i) {
        const std::string id = "s" + std::to_string(i);
        const bool tumour = i % 2 == 1;
        const std::int64_t n = 20 + (i * 7) % 21;
        torch::Tensor features = torch::randn({n, kDim}, generator);
        if (tumour)
            features.slice(0, 0, std::max<std::int64_t>(3, n * 15 / 100)).slice(1, 0, 4) += 2.0;
        SlideFeatures slide;
        slide.slideId = id;
        slide.count = n;
        slide.dim = kDim;
        slide.features.assign(features.data_ptr<float>(), features.data_ptr<float>() + n * kDim);
        for (std::int64_t p = 0; p < n; ++p)
            slide.coords.push_back({p * 256, (p % 5) * 256});
        slide.attributes.patchSize = 256;
        slide.attributes.patchLevel = 0;
        slide.attributes.levelDownsample = std::array<double, 2>{1.0, 1.0};
        writeFeatureFile(layout.featureFile("toy", id), slide);
        labels += "case" + std::to_string(i) + "," + id + "," + (tumour ? "tumor" : "normal") + "\n";
    }
    writeText(root / "labels.csv", labels);
    return root;
}

MilTrainingConfig trainingConfig(const fs::path &root, const std::string &run)
{
    MilTrainingConfig config;
    config.data.projectRoot = root;
    config.data.labelsCsv = root / "labels.csv";
    config.data.encoder = "toy";
    config.data.split.valFraction = 0.25;
    config.data.split.testFraction = 0.25;
    config.run = run;
    config.model.embedDim = 16;
    config.model.attentionDim = 8;
    config.trainer.epochs = 15;
    config.trainer.learningRate = 1e-3;
    config.trainer.seed = 3;
    return config;
}

} // namespace

class TstMilTraining : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void trainsAndWritesTheRun()
    {
        const fs::path root = makeProject("run", 40);
        std::vector<std::string> phases;
        int epochs = 0;
        MilTrainingEvents events;
        events.progress = [&](const std::string &phase, int, int) {
            if (phases.empty() || phases.back() != phase)
                phases.push_back(phase);
        };
        events.epochFinished = [&](const engine::EpochReport &) { ++epochs; };
        MilTrainingJob job(trainingConfig(root, "abmil"));
        const MilRunSummary summary = job.run(events);
        QCOMPARE(epochs, 15);
        QCOMPARE(phases, (std::vector<std::string>{"loading features", "training", "predicting"}));
        QVERIFY(!summary.cancelled);
        QVERIFY(summary.bestEpoch >= 0);
        QCOMPARE(summary.classNames, (std::vector<std::string>{"normal", "tumor"}));
        QCOMPARE(summary.featureDim, std::int64_t{kDim});
        QVERIFY(summary.test.present && summary.val.present);
        QCOMPARE(summary.test.slides, 10);
        QVERIFY2(summary.test.metrics.auc >= 0.95, qPrintable(QString::number(summary.test.metrics.auc)));
        QVERIFY(summary.threshold.has_value());
        QVERIFY(summary.test.metrics.hasThreshold);

        const fs::path run = root / "runs" / "abmil";
        for (const char *file : {"checkpoint.pth", "last.pth", "training_log.csv", "training_log.json", "metrics.json", "splits.csv",
                                 "predictions.csv", "predictions.json", "fold_0.csv"})
            QVERIFY2(fs::exists(run / file), file);
        const std::string log = readText(run / "training_log.csv");
        QCOMPARE(std::count(log.begin(), log.end(), '\n'), 16L);
        QVERIFY(log.rfind("epoch,train_loss,tier1_loss,val_loss,val_auc,val_accuracy,val_f1,learning_rate,seconds,best\n", 0) == 0);
        const std::string predictions = readText(run / "predictions.csv");
        QVERIFY(predictions.rfind("slide_id,case_id,label,split,p_0,p_1,predicted,patches,above_threshold\ns0,case0,normal,", 0) == 0);
        QCOMPARE(std::count(predictions.begin(), predictions.end(), '\n'), 41L);
        const std::string fold = readText(run / "fold_0.csv");
        QVERIFY(fold.rfind("slide_id,Y,Y_hat,p_0,p_1\n", 0) == 0);
        QCOMPARE(std::count(fold.begin(), fold.end(), '\n'), 11L); // the 10 test slides

        // The checkpoint carries what prediction needs.
        const engine::MilCheckpoint checkpoint = engine::readMilCheckpoint(summary.checkpoint);
        QCOMPARE(checkpoint.classNames, summary.classNames);
        QCOMPARE(checkpoint.threshold.value_or(-1.0), *summary.threshold);
        QCOMPARE(checkpoint.epoch, summary.bestEpoch);
        QVERIFY(checkpoint.metricsJson.find("\"test\"") != std::string::npos);
        QVERIFY(!engine::readMilCheckpoint(run / "last.pth").optimizer.empty());

        // Attention beside the features: one file per slide, aligned with the features' patches.
        const SlideAttention attention = readAttentionFile(ProjectLayout(root).attentionFile("toy", "abmil", "s1"));
        const SlideFeatures features = readFeatureFile(ProjectLayout(root).featureFile("toy", "s1"));
        QCOMPARE(attention.coords, features.coords);
        QCOMPARE(attention.slideId, std::string("s1"));
        QCOMPARE(attention.modelType, std::string("abmil"));
        QCOMPARE(attention.patchSizeLevel0.value_or(0), std::int64_t{256});
        double sum = 0.0;
        for (float a : attention.attention)
            sum += a;
        QVERIFY(std::abs(sum - 1.0) < 1e-4);
        QCOMPARE(attention.probabilities.size(), std::size_t{2});
        // The instance view: per patch, two class probabilities summing to 1.
        QCOMPARE(attention.instanceScores.size(), attention.coords.size() * 2);
        for (std::size_t i = 0; i < attention.coords.size(); ++i)
            QVERIFY(std::abs(attention.instanceScores[2 * i] + attention.instanceScores[2 * i + 1] - 1.0f) < 1e-5f);
    }

    void checkpointReproducesThePredictions()
    {
        const fs::path root = makeProject("reproduce", 24);
        const MilRunSummary summary = MilTrainingJob(trainingConfig(root, "trained")).run();
        const PredictionTable trained = readPredictionsJson(summary.runDir / "predictions.json");

        MilPredictionConfig config;
        config.projectRoot = root;
        config.checkpoint = summary.checkpoint;
        config.labelsCsv = root / "labels.csv";
        config.run = "again";
        const MilPredictionResult again = MilPredictionJob(config).run();
        QCOMPARE(again.table.rows.size(), trained.rows.size());
        QCOMPARE(again.table.encoder, std::string("toy")); // the project's only encoder
        for (std::size_t i = 0; i < trained.rows.size(); ++i) {
            QCOMPARE(again.table.rows[i].slideId, trained.rows[i].slideId);
            QCOMPARE(again.table.rows[i].probabilities, trained.rows[i].probabilities);
            QCOMPARE(again.table.rows[i].predicted, trained.rows[i].predicted);
        }
        // Without labels: no label, no split, every slide with features, sorted by id.
        config.labelsCsv.clear();
        config.run = "unlabelled";
        const MilPredictionResult unlabelled = MilPredictionJob(config).run();
        QCOMPARE(unlabelled.table.rows.size(), std::size_t{24});
        QCOMPARE(unlabelled.table.rows[0].slideId, std::string("s0"));
        QCOMPARE(unlabelled.table.rows[1].slideId, std::string("s1"));
        QCOMPARE(unlabelled.table.rows[2].slideId, std::string("s10"));
        QVERIFY(unlabelled.table.rows[0].label.empty());
        QVERIFY(!fs::exists(unlabelled.runDir / "fold_0.csv"));

        // Export writes what the run wrote.
        const fs::path exported = summary.runDir / "exported.csv";
        writePredictionsCsv(exported, trained);
        QCOMPARE(readText(exported), readText(summary.runDir / "predictions.csv"));
    }

    void dtfdAndMaxPoolRunToo()
    {
        const fs::path root = makeProject("models", 16);
        for (engine::MilModelType type : {engine::MilModelType::MaxPool, engine::MilModelType::Dtfd}) {
            MilTrainingConfig config = trainingConfig(root, engine::milModelTypeName(type));
            config.model.type = type;
            config.trainer.epochs = 3;
            const MilRunSummary summary = MilTrainingJob(config).run();
            QCOMPARE(summary.epochsRun, 3);
            QCOMPARE(engine::readMilCheckpoint(summary.checkpoint).model.type, type);
        }
    }

    void existingRunIsKept()
    {
        const fs::path root = makeProject("exists", 12);
        MilTrainingConfig config = trainingConfig(root, "r");
        config.trainer.epochs = 1;
        MilTrainingJob(config).run();
        QCOMPARE(projectErrorOf([&] { MilTrainingJob(config).run(); }),
                 QStringLiteral("Run 'r' already exists in '%1': choose another run name, or overwrite it (--overwrite)")
                     .arg(icmil::test::q(root / "runs" / "r")));
        config.overwrite = true;
        QCOMPARE(MilTrainingJob(config).run().epochsRun, 1);
    }

    void cancelBeforeTrainingSavesNothing()
    {
        const fs::path root = makeProject("cancel", 12);
        MilTrainingJob job(trainingConfig(root, "c"));
        job.cancel();
        const MilRunSummary summary = job.run();
        QVERIFY(summary.cancelled);
        QCOMPARE(summary.bestEpoch, -1);
        QVERIFY(!fs::exists(root / "runs" / "c" / "checkpoint.pth"));
    }

    void badDatasetsGiveClearErrors()
    {
        const fs::path root = makeProject("bad", 12);
        MilTrainingConfig config = trainingConfig(root, "bad");
        const std::string good = readText(root / "labels.csv");

        // Duplicate slide and a row with too few fields: both listed with their lines.
        writeText(root / "labels.csv", good + "case0,s0,normal\nc,s1\n");
        QCOMPARE(projectErrorOf([&] { BagDataset::load(config.data); }),
                 QStringLiteral(
                     "labels.csv has 2 problems: line 14: duplicate slide_id 's0' (first on line 2); line 15: expected 3 fields, found 2"));

        // A label outside the given classes.
        writeText(root / "labels.csv", good);
        config.data.classNames = {"normal", "metastasis"};
        QCOMPARE(projectErrorOf([&] { BagDataset::load(config.data); }),
                 QStringLiteral("Slide 's1' has label 'tumor', which is not one of the classes normal, metastasis"));
        config.data.classNames.clear();

        // Missing feature files.
        writeText(root / "labels.csv", good + "case20,s20,tumor\ncase21,s21,normal\n");
        QCOMPARE(projectErrorOf([&] { BagDataset::load(config.data); }),
                 QStringLiteral("No features for 2 of 14 slides in '%1': s20, s21 (run icmil extract first)")
                     .arg(icmil::test::q(ProjectLayout(root).featuresDir("toy"))));

        // One class only.
        writeText(root / "labels.csv", "case_id,slide_id,label\nc0,s0,normal\nc2,s2,normal\n");
        QCOMPARE(projectErrorOf([&] { BagDataset::load(config.data); }),
                 QStringLiteral("labels.csv has only one class ('normal'); training needs at least two"));

        // Features of different widths.
        writeText(root / "labels.csv", good);
        SlideFeatures narrow;
        narrow.slideId = "s3";
        narrow.count = 2;
        narrow.dim = 8;
        narrow.features.assign(16, 0.5f);
        narrow.coords = {{0, 0}, {256, 0}};
        writeFeatureFile(ProjectLayout(root).featureFile("toy", "s3"), narrow);
        QCOMPARE(projectErrorOf([&] { BagDataset::load(config.data); }),
                 QStringLiteral("Slide 's3' has 8 features per patch, slide 's0' 16"));

        // A labels file that does not exist.
        config.data.labelsCsv = root / "nope.csv";
        QVERIFY(projectErrorOf([&] { BagDataset::load(config.data); }).contains(QStringLiteral("nope.csv")));
    }

    void slidesWithoutPatchesAreLeftOutUnlessStrict()
    {
        // Two slides whose tiling found no tissue: their feature files exist but hold no patch.
        const fs::path root = makeProject("empty", 12);
        for (const char *id : {"s4", "s7"}) {
            SlideFeatures empty;
            empty.slideId = id;
            empty.dim = kDim;
            writeFeatureFile(ProjectLayout(root).featureFile("toy", id), empty);
        }
        MilTrainingConfig config = trainingConfig(root, "empty");
        // Strict (the default of the library): the first one fails the load, naming it.
        QVERIFY2(projectErrorOf([&] { BagDataset::load(config.data); }).startsWith(QStringLiteral("Slide 's4' has no patches in")),
                 qPrintable(projectErrorOf([&] { BagDataset::load(config.data); })));

        config.data.leaveOutWithoutPatches = true;
        const BagDataset dataset = BagDataset::load(config.data);
        QCOMPARE(dataset.withoutPatches(), (std::vector<std::string>{"s4", "s7"}));
        QCOMPARE(dataset.slides().size(), std::size_t{10});
        for (const DatasetSlide &slide : dataset.slides())
            QVERIFY(slide.slideId != "s4" && slide.slideId != "s7");
        // Slides and bags stay aligned: each bag is its slide's, with its patches.
        std::size_t bags = 0;
        for (Split split : {Split::Train, Split::Val, Split::Test}) {
            for (const engine::Bag &bag : dataset.bags(split)) {
                const auto slide = std::find_if(dataset.slides().begin(), dataset.slides().end(),
                                                [&](const DatasetSlide &s) { return s.slideId == bag.id; });
                QVERIFY(slide != dataset.slides().end());
                QCOMPARE(bag.features.size(0), slide->patches);
                QCOMPARE(slide->split, split);
                ++bags;
            }
        }
        QCOMPARE(bags, std::size_t{10});
        // The others keep the split they have with every slide.
        config.data.leaveOutWithoutPatches = false;
        config.data.leftOut = {"s4", "s7"};
        const BagDataset without = BagDataset::load(config.data);
        for (std::size_t i = 0; i < without.slides().size(); ++i)
            QCOMPARE(dataset.slides()[i].split, without.slides()[i].split);

        // A training run says which it left out.
        config.data.leftOut.clear();
        config.data.leaveOutWithoutPatches = true;
        const MilRunSummary summary = MilTrainingJob(config).run();
        QCOMPARE(summary.withoutPatches, (std::vector<std::string>{"s4", "s7"}));
        QVERIFY(summary.bestEpoch >= 0);

        // When no slide has patches, one error names them.
        writeText(root / "labels.csv", "case_id,slide_id,label\nc4,s4,normal\nc7,s7,tumor\n");
        config.data.split.valFraction = 0.0;
        config.data.split.testFraction = 0.0;
        QVERIFY2(projectErrorOf([&] { BagDataset::load(config.data); }).startsWith(QStringLiteral("No slide of '")),
                 qPrintable(projectErrorOf([&] { BagDataset::load(config.data); })));
    }

    void predictionTableFormats()
    {
        PredictionTable table;
        table.classNames = {"normal", "tumor"};
        table.threshold = 0.3;
        SlidePredictionRow a{"a,1", "c\"1", "tumor", "test", 1, {0.6, 0.4}, decideClass({0.6, 0.4}, 0.3), 12};
        SlidePredictionRow b{"b", "c2", "", "", -1, {0.9, 0.1}, decideClass({0.9, 0.1}, 0.3), 3};
        QCOMPARE(a.predicted, 1); // 0.4 >= 0.3
        QCOMPARE(b.predicted, 0);
        QCOMPARE(decideClass({0.2, 0.5, 0.3}, std::nullopt), 1);
        QCOMPARE(decideClass({0.5, 0.5}, std::nullopt), 0);
        table.rows = {a, b};
        const fs::path dir = fs::path(qEnvironmentVariable("ICMIL_TEST_SCRATCH").toStdString());
        fs::create_directories(dir);
        writePredictionsCsv(dir / "p.csv", table);
        QCOMPARE(readText(dir / "p.csv"),
                 std::string("slide_id,case_id,label,split,p_0,p_1,predicted,patches,above_threshold\n"
                             "\"a,1\",\"c\"\"1\",tumor,test,0.6,0.4,tumor,12,yes\n"
                             "b,c2,,,0.9,0.1,normal,3,no\n"));
        writeClamFoldCsv(dir / "f.csv", table);
        QCOMPARE(readText(dir / "f.csv"), std::string("slide_id,Y,Y_hat,p_0,p_1\n\"a,1\",1,1,0.6,0.4\n"));
        writePredictionsJson(dir / "p.json", table);
        const PredictionTable back = readPredictionsJson(dir / "p.json");
        QCOMPARE(back.rows.size(), std::size_t{2});
        QCOMPARE(back.rows[0].caseId, std::string("c\"1"));
        QCOMPARE(back.threshold.value_or(0.0), 0.3);
        writeText(dir / "broken.json", "{\"rows\": [");
        QVERIFY(projectErrorOf([&] {
                    readPredictionsJson(dir / "broken.json");
                }).startsWith(QStringLiteral("Cannot read predictions from '%1': ").arg(icmil::test::q(dir / "broken.json"))));
    }
};

QTEST_GUILESS_MAIN(TstMilTraining)
#include "tst_miltraining.moc"
