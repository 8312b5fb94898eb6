// SPDX-License-Identifier: GPL-3.0-or-later
// Model bundles: export from an ICMIL loop and from a plain run, one-step prediction on new slides
// equal to the project's own prediction of them, resume, a failing slide, and every error a
// bundle can give, with its exact message.
#include "common/slidetestsupport.h"
#include "project/looptestsupport.h"

#include "engine/mil/milcheckpoint.h"
#include "engine/torchfile/randomaccessfile.h"
#include "engine/torchfile/storedziparchive.h"
#include "engine/torchfile/storedzipwriter.h"
#include "project/dataset/slidelist.h"
#include "project/dataset/syntheticdataset.h"
#include "project/features/featureextractor.h"
#include "project/loop/icmilloop.h"
#include "project/model/bundleprediction.h"
#include "project/model/modelexport.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"
#include "project/training/attentionstore.h"
#include "project/training/milprediction.h"
#include "project/training/miltraining.h"

#include <nlohmann/json.hpp>

#include <torch/script.h>

#include <QtTest>

#include <fstream>
#include <map>

using namespace icmil;
using namespace icmil::project;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::vector<engine::StoredZipMember> membersOf(const fs::path &bundle)
{
    const engine::RandomAccessFile file(bundle);
    const engine::StoredZipArchive archive(file);
    std::vector<engine::StoredZipMember> members;
    for (const auto &entry : archive.entries())
        members.push_back({entry.name, archive.readSmall(entry, ~std::uint64_t{0})});
    return members;
}

void writeMembers(const fs::path &path, const std::vector<engine::StoredZipMember> &members)
{
    const std::string bytes = engine::makeStoredZip(members);
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string &member(std::vector<engine::StoredZipMember> &members, const std::string &name)
{
    for (auto &m : members)
        if (m.name == name)
            return m.bytes;
    throw std::runtime_error("no member " + name);
}

std::string errorOf(const std::function<void()> &work)
{
    try {
        work();
    } catch (const std::exception &e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

class TstModelBundle : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    fs::path m_dataset;
    fs::path m_newSlides;
    fs::path m_project;
    fs::path m_bundle;
    IcmilLoopConfig m_loop;

    // `icmil train` in the project: a small classifier run on the features of `encoder`.
    void trainRun(const std::string &encoder, const std::string &run, int embedDim, int attentionDim) const
    {
        MilTrainingConfig train;
        train.data.projectRoot = m_project;
        train.data.labelsCsv = m_dataset / "labels.csv";
        train.data.encoder = encoder;
        train.run = run;
        train.model.embedDim = embedDim;
        train.model.attentionDim = attentionDim;
        train.trainer.epochs = 2;
        train.trainer.device = "cpu";
        MilTrainingJob(train).run({});
    }

    // The export of run `run` to <scratch>/<run>.icmil, checked against the dataset's slides.
    ModelExportConfig exportOfRun(const std::string &run) const
    {
        ModelExportConfig config;
        config.projectRoot = m_project;
        config.run = run;
        config.slides = m_dataset;
        config.out = m_dir / (run + ".icmil");
        return config;
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_modelbundle");
        for (const fs::directory_entry &entry : fs::directory_iterator(m_dir))
            fs::remove_all(entry.path());
        m_dataset = m_dir / "dataset";
        SyntheticDatasetConfig synth;
        synth.outputDir = m_dataset;
        synth.slides = 8;
        synth.seed = 31;
        synth.width = 4096;
        synth.height = 3072;
        const SyntheticDatasetResult dataset = SyntheticDataset(synth).generate();
        std::map<std::string, int> seen;
        std::string labels = "case_id,slide_id,label,split\n";
        for (const SyntheticSlideRecord &slide : dataset.slides) {
            const int n = seen[slide.label]++;
            labels += slide.caseId + "," + slide.slideId + "," + slide.label + "," + (n < 2 ? "train" : n == 2 ? "val" : "test") + "\n";
        }
        std::ofstream(m_dataset / "labels.csv", std::ios::binary) << labels;

        // New slides, in no labels file, named apart from the dataset's.
        SyntheticDatasetConfig fresh = synth;
        fresh.outputDir = m_dir / "new-dataset";
        fresh.slides = 3;
        fresh.seed = 77;
        SyntheticDataset(fresh).generate();
        m_newSlides = m_dir / "new";
        fs::create_directories(m_newSlides);
        for (const fs::directory_entry &entry : fs::directory_iterator(fresh.outputDir / "slides"))
            fs::copy_file(entry.path(), m_newSlides / ("new_" + entry.path().filename().string()));

        m_project = m_dir / "project";
        m_loop = test::tinyLoopConfig(m_project, m_dataset, 1);
        m_loop.trainer.epochs = 3;
        m_loop.fineTuning.epochs = 1;
        m_loop.fineTuning.patchesPerEpoch = 32;
        m_loop.fineTuning.maxValidationPatches = 16;
        const IcmilLoopResult result = IcmilLoop(m_loop).run();
        QCOMPARE(result.iterations.size(), std::size_t{2});

        ModelExportConfig exportConfig;
        exportConfig.projectRoot = m_project;
        exportConfig.loop = m_loop.name;
        exportConfig.slides = m_dataset;
        exportConfig.out = m_dir / "model.icmil";
        const ModelExportReport report = exportModel(exportConfig);
        m_bundle = exportConfig.out;
        QCOMPARE(report.source, std::string("loop icmil, iteration 1 (its last trained)"));
        QVERIFY2(!report.checkedSlide.empty(), report.notChecked.c_str());
        QVERIFY(report.maxFeatureDifference <= kFeatureCheckTolerance);
    }

    void bundleRecordsTheModelAndItsPreprocessing()
    {
        const ModelBundleInfo info = readModelBundleInfo(m_bundle);
        QCOMPARE(info.encoder, std::string("icmil-it1"));
        QCOMPARE(info.embedderName, std::string("tiny-cnn"));
        QVERIFY(!info.torchScript);
        QCOMPARE(info.classNames, (std::vector<std::string>{"normal", "tumor"}));
        QVERIFY(info.threshold.has_value());
        QCOMPARE(info.preprocessing.tiling.grid.patchSize, 256);
        QVERIFY(!info.preprocessing.tiling.grid.targetMagnification);
        QCOMPARE(info.preprocessing.tiling.tissue.presetName, std::string("bwh_biopsy"));
        const json provenance = json::parse(info.provenanceJson);
        QCOMPARE(provenance.at("source").at("iteration").get<int>(), 1);
        QCOMPARE(provenance.at("dataset").at("slides").get<int>(), 8);
        QVERIFY(provenance.at("metrics").contains("val"));
        // The members are plain torch.save files (what Python's torch.load reads).
        std::vector<engine::StoredZipMember> members = membersOf(m_bundle);
        QCOMPARE(members.size(), std::size_t{3});
        const fs::path classifier = m_dir / "classifier-member.pth";
        std::ofstream(classifier, std::ios::binary) << member(members, "classifier.pth");
        QCOMPARE(engine::readMilCheckpoint(classifier).classNames, info.classNames);
    }

    void predictsNewSlidesAsTheProjectDoes()
    {
        BundlePredictionConfig config;
        config.bundle = m_bundle;
        std::vector<std::string> problems;
        config.slides = slidesToPredict(m_newSlides, problems);
        QVERIFY(problems.empty());
        QCOMPARE(config.slides.size(), std::size_t{3});
        config.slidesLocation = m_newSlides;
        config.outDir = m_dir / "predicted";
        config.device = "cpu";
        config.batchSize = m_loop.extraction.batchSize;
        config.readerThreads = 2;
        config.heatmaps = true;
        config.heatmapDownsample = 16.0;
        const BundlePredictionResult result = BundlePredictionJob(config).run();
        QVERIFY(result.failed.empty());
        QCOMPARE(result.table.rows.size(), std::size_t{3});
        QCOMPARE(result.extracted, 3);
        QVERIFY(fs::exists(config.outDir / "predictions.csv"));
        QCOMPARE(result.heatmaps.size(), std::size_t{3});
        for (const fs::path &picture : result.heatmaps)
            QVERIFY(fs::file_size(picture) > 0);
        QVERIFY(fs::exists(config.outDir / "heatmaps" / "legend.png"));
        QVERIFY(fs::exists(ProjectLayout(config.outDir).runDir(kBundlePredictionRun) / "predictions.json"));

        // The project's way: the loop's iteration-1 embedder extracts the same slides into the
        // project, and its classifier predicts them (unlabelled: they are in no labels file).
        ExtractionConfig extraction = m_loop.extraction;
        extraction.projectDir = m_project;
        extraction.embedder = loopIterationEmbedder(m_loop, m_project / "icmil" / m_loop.name, [&] {
            IterationSummary it;
            it.iteration = 1;
            it.embedderName = "tiny-cnn";
            it.embedderWeights = "embedder-it1.pth";
            return it;
        }());
        extraction.encoderName = "icmil-it1";
        extraction.device = "cpu";
        const ExtractionReport extracted = FeatureExtractor(extraction).run(config.slides);
        QCOMPARE(extracted.failed(), 0);
        MilPredictionConfig project;
        project.projectRoot = m_project;
        project.checkpoint = ProjectLayout(m_project).runDir("icmil-it1") / "checkpoint.pth";
        project.encoder = "icmil-it1";
        project.run = "new-slides";
        project.labelsCsv = m_dataset / "labels.csv";
        project.device = torch::kCPU;
        const MilPredictionResult projectResult = MilPredictionJob(project).run();
        std::map<std::string, const SlidePredictionRow *> byId;
        for (const auto &row : projectResult.table.rows)
            byId[row.slideId] = &row;
        QCOMPARE(byId.size(), std::size_t{11}); // the 8 labelled slides and the 3 new ones
        for (const SlidePredictionRow &row : result.table.rows) {
            QVERIFY(byId.count(row.slideId));
            const SlidePredictionRow &other = *byId[row.slideId];
            QCOMPARE(other.labelIndex, -1);
            QCOMPARE(row.patches, other.patches);
            QCOMPARE(row.predicted, other.predicted);
            for (std::size_t c = 0; c < row.probabilities.size(); ++c)
                QCOMPARE(row.probabilities[c], other.probabilities[c]);
            const SlideAttention a
                = readAttentionFile(ProjectLayout(config.outDir).attentionFile("icmil-it1", kBundlePredictionRun, row.slideId));
            const SlideAttention b = readAttentionFile(ProjectLayout(m_project).attentionFile("icmil-it1", "new-slides", row.slideId));
            QCOMPARE(a.attention, b.attention);
        }

        // A rerun makes nothing again and gives the same table.
        const BundlePredictionResult again = BundlePredictionJob(config).run();
        QCOMPARE(again.extracted, 0);
        QCOMPARE(again.reused, 3);
        QCOMPARE(again.table.rows.size(), std::size_t{3});
        QCOMPARE(again.table.rows.front().probabilities, result.table.rows.front().probabilities);
    }

    void aSlideThatFailsIsReportedAndTheOthersGoOn()
    {
        const fs::path broken = m_dir / "broken.svs";
        std::ofstream(broken, std::ios::binary) << "II*\0 not a slide";
        const fs::path list = m_dir / "slides.txt";
        std::ofstream(list) << "# two slides\nbroken.svs\nnew/" << fs::directory_iterator(m_newSlides)->path().filename().string() << "\n";
        BundlePredictionConfig config;
        config.bundle = m_bundle;
        std::vector<std::string> problems;
        config.slides = slidesToPredict(list, problems);
        QCOMPARE(config.slides.size(), std::size_t{2});
        config.outDir = m_project;
        QCOMPARE(errorOf([&] { BundlePredictionJob(config).run(); }),
                 "'" + m_project.string()
                     + "' is a training project (it has ICMIL loops): choose an empty folder, or one an earlier prediction made");
        config.outDir = m_dir / "with-broken";
        config.device = "cpu";
        const BundlePredictionResult result = BundlePredictionJob(config).run();
        QCOMPARE(result.failed.size(), std::size_t{1});
        QCOMPARE(result.failed.front().slideId, std::string("broken"));
        QCOMPARE(result.table.rows.size(), std::size_t{1});
    }

    void aPlainRunNeedsTheEmbedderThatMadeItsFeatures()
    {
        // A classifier trained with `icmil train` on iteration 0's features (made by the
        // calibrated tiny-cnn in the loop folder).
        trainRun("icmil-it0", "plain", 16, 8);
        ModelExportConfig config = exportOfRun("plain");
        config.embedder.name = "tiny-cnn";
        config.embedder.seed = 7; // the right architecture, but not the calibrated statistics
        const std::string error = errorOf([&] { exportModel(config); });
        QVERIFY2(error.rfind("The embedder tiny-cnn does not reproduce the features the classifier was trained on (", 0) == 0,
                 error.c_str());
        QVERIFY(!fs::exists(config.out));

        config.embedder.weights = m_project / "icmil" / m_loop.name / "embedder-it0.pth";
        const ModelExportReport report = exportModel(config);
        QCOMPARE(report.source, std::string("run plain"));
        QVERIFY(report.maxFeatureDifference <= kFeatureCheckTolerance);
        QCOMPARE(readModelBundleInfo(config.out).encoder, std::string("icmil-it0"));

        config.out = m_dir / "nothing.icmil";
        config.run = "missing";
        QCOMPARE(errorOf([&] { exportModel(config); }), std::string("Run 'missing' does not say which features it was trained on"));
        config.run.clear();
        QCOMPARE(errorOf([&] { exportModel(config); }),
                 std::string("Name the model to export: a run (--run) or an ICMIL loop (--loop), not both"));
        config.loop = "nope";
        QCOMPARE(errorOf([&] { exportModel(config); }),
                 "Project '" + m_project.string() + "' has no ICMIL loop 'nope' (no "
                     + (m_project / "icmil" / "nope" / "state.json").string() + ")");
        config.loop = m_loop.name;
        config.iteration = 5;
        QCOMPARE(errorOf([&] { exportModel(config); }), std::string("ICMIL loop 'icmil' has no trained iteration 5 (trained: 0..1)"));
    }

    void aTorchScriptEmbedderTravelsInTheBundle()
    {
        // A TorchScript embedder (the channel means of the normalised patch times a 6 x 3 matrix)
        // with its JSON, features of the dataset made with it, a classifier trained on them.
        torch::jit::Module module("MeanEmbedder");
        torch::manual_seed(3);
        module.register_parameter("weight", torch::randn({6, 3}), false);
        module.define(R"(
def forward(self, x):
    return x.mean(dim=[2, 3]).matmul(self.weight.t())
)");
        const fs::path script = m_dir / "mean.pt";
        module.save(script.string());
        std::ofstream(m_dir / "mean.json")
            << R"({"name": "mean-embedder", "input_size": 32, "feature_dim": 6, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]})";
        ExtractionConfig extraction = m_loop.extraction;
        extraction.projectDir = m_project;
        extraction.embedder.name = script.string();
        extraction.device = "cpu";
        QCOMPARE(FeatureExtractor(extraction).run(listSlides(m_dataset).slides).failed(), 0);
        trainRun("mean-embedder", "script", 8, 4);
        ModelExportConfig config = exportOfRun("script");
        QCOMPARE(
            errorOf([&] { exportModel(config); }),
            std::string("Run 'script' was trained on features of 'mean-embedder', which is not a built-in embedder: name its TorchScript "
                        "file with --embedder"));
        config.embedder.name = script.string();
        const ModelExportReport report = exportModel(config);
        QVERIFY(report.maxFeatureDifference <= kFeatureCheckTolerance);
        std::vector<engine::StoredZipMember> members = membersOf(config.out);
        QCOMPARE(members.size(), std::size_t{4}); // model.json, embedder.pt, embedder.json, classifier.pth
        const ModelBundleInfo info = readModelBundleInfo(config.out);
        QVERIFY(info.torchScript);
        QCOMPARE(info.embedderName, std::string("mean-embedder"));
        QCOMPARE(info.featureDim, 6);

        BundlePredictionConfig predict;
        predict.bundle = config.out;
        std::vector<std::string> problems;
        predict.slides = slidesToPredict(m_newSlides, problems);
        predict.outDir = m_dir / "script-predicted";
        predict.device = "cpu";
        const BundlePredictionResult result = BundlePredictionJob(predict).run();
        QVERIFY(result.failed.empty());
        QCOMPARE(result.table.rows.size(), std::size_t{3});
        QVERIFY(fs::exists(ProjectLayout(predict.outDir).featureFile("mean-embedder", result.table.rows.front().slideId)));
    }

    void everyBundleErrorIsOneSentence()
    {
        const std::string name = "'" + (m_dir / "bad.icmil").string() + "'";
        const fs::path bad = m_dir / "bad.icmil";
        auto readError = [&] { return errorOf([&] { readModelBundle(bad); }); };

        std::ofstream(bad, std::ios::binary) << "not a zip at all, just text that is long enough";
        QVERIFY2(readError().rfind(name + " is not an ICMIL model bundle: ", 0) == 0, readError().c_str());
        fs::remove(bad);
        QCOMPARE(readError(), "Model bundle " + name + " does not exist");

        const std::vector<engine::StoredZipMember> good = membersOf(m_bundle);
        std::vector<engine::StoredZipMember> members = good;
        members.erase(members.begin() + 1); // the embedder
        writeMembers(bad, members);
        QCOMPARE(readError(), "Model bundle " + name + " is incomplete: it has no embedder.pth");

        members = good;
        json manifest = json::parse(member(members, "model.json"));
        manifest["format_version"] = 2;
        member(members, "model.json") = manifest.dump();
        writeMembers(bad, members);
        QCOMPARE(readError(),
                 "Model bundle " + name + " has format version 2; this ICMIL Studio reads version 1 (a newer ICMIL Studio made it)");

        manifest["format_version"] = 1;
        manifest["format"] = "something-else";
        member(members, "model.json") = manifest.dump();
        writeMembers(bad, members);
        QCOMPARE(readError(), name + " is not an ICMIL model bundle: its model.json does not say format \"icmil-model\"");

        manifest["format"] = "icmil-model";
        manifest["class_names"] = {"normal", "tumor", "other"};
        member(members, "model.json") = manifest.dump();
        writeMembers(bad, members);
        QCOMPARE(readError(), "Model bundle " + name + " names 3 classes, but its classifier has 2");

        // A classifier for features of another width.
        members = good;
        engine::MilModelConfig narrow;
        narrow.inputDim = 7;
        narrow.embedDim = 4;
        narrow.attentionDim = 3;
        engine::MilCheckpoint checkpoint = engine::makeMilCheckpoint(*engine::makeMilModel(narrow));
        checkpoint.classNames = {"normal", "tumor"};
        engine::writeMilCheckpoint(m_dir / "narrow.pth", checkpoint);
        std::ifstream in(m_dir / "narrow.pth", std::ios::binary);
        member(members, "classifier.pth") = std::string(std::istreambuf_iterator<char>(in), {});
        writeMembers(bad, members);
        const int width = readModelBundleInfo(m_bundle).featureDim;
        QCOMPARE(readError(),
                 "Model bundle " + name + " does not fit together: its embedder gives " + std::to_string(width)
                     + " features per patch, but its classifier takes 7");

        // One byte of the classifier changed: its CRC no longer matches.
        std::string damaged = engine::makeStoredZip(good);
        const engine::RandomAccessFile goodFile(m_bundle);
        const engine::StoredZipArchive archive(goodFile);
        const std::size_t at = static_cast<std::size_t>(archive.dataOffset(*archive.find("classifier.pth"))) + 200;
        damaged[at] = static_cast<char>(damaged[at] ^ 0x5a);
        std::ofstream(bad, std::ios::binary).write(damaged.data(), static_cast<std::streamsize>(damaged.size()));
        QCOMPARE(readError(), "Model bundle " + name + ": checkpoint damaged: classifier.pth fails its CRC check");
    }
};

QTEST_GUILESS_MAIN(TstModelBundle)
#include "tst_modelbundle.moc"
