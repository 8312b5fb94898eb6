// SPDX-License-Identifier: GPL-3.0-or-later
// icmil-loop-bench: the ICMIL loop on a synthetic dataset with ground truth, over several seeds
// (each seed: its own split, embedder initialisation, classifier and fine-tuning draws), with per
// iteration the mean and standard deviation over seeds of:
//   val / test AUC        the bag classifier of that iteration (best epoch by validation AUC);
//   patch AUC            the attention of that classifier on the test slides' tumour slides,
//                        every patch ranked against "its centre lies in ground-truth tumour";
//   localisation         the fraction of the top 10% attended patches of those slides inside
//                        tumour (its ceiling min(1, tumour patches / top-10% count) beside it);
//   pseudo-label AUC     the teacher's instance signal: the classifier's instance head
//                        (dim_reduction -> instance classifier, what fine-tuning distils) on the
//                        training slides' tumour slides, patch AUC against ground truth;
//   probe AUC            a linear probe (logistic regression) fitted on the training tumour
//                        slides' patch features against ground truth, evaluated on the test
//                        tumour slides' patches: do the features separate tumour patches?
//   student agreement    fine-tuning's held-out agreement with its teacher (iterations >= 1).
// and the wall time of each phase.
//
//   icmil-loop-bench [--preset camelyon] [--slides 100] [--size 8000x6400] [--seeds 3]
//                    [--iterations 1] [--epochs 100] [--lr 2e-4] [--finetune-epochs 4]
//                    [--finetune-patches 6000] [--finetune-lr 3e-4] [--teacher-temperature 1]
//                    [--calibration-patches 2000]
//                    [--model abmil]
//                    [--val-fraction 0.2] [--test-fraction 0.2] [--device auto] [--bn-train]
//                    [--confidence] [--negative-class normal|none] [--stain-norm none|macenko|reinhard] [--stain-jitter S]
//                    [--json FILE] [--dir DIR] [--dataset DIR] [--resume]
// (--dataset: where the synthetic slides are, default DIR/dataset, so that several settings
// share one dataset.)
//
// The JSON: {"preset", "seeds", "slides", "settings": {...}, "iterations": [{"iteration",
// "test_auc_mean", "test_auc_sd", "val_auc_mean", "val_auc_sd", "patch_auc_mean", ...,
// "per_seed": [...]}]}. Settings are chosen on validation numbers; the test columns are reported.

#include "engine/mil/milcheckpoint.h"
#include "engine/mil/milmetrics.h"
#include "engine/mil/milmodel.h"
#include "engine/runtime/runtime.h"
#include "project/dataset/datasetsplit.h"
#include "project/features/featurestore.h"
#include "project/loop/foldaggregate.h"
#include "project/loop/icmilloop.h"
#include "project/dataset/labelstable.h"
#include "project/projectlayout.h"
#include "project/dataset/syntheticdataset.h"
#include "project/export/tumourgroundtruth.h"
#include "slide/synthetic/syntheticpreset.h"
#include "slide/tissue/tissuedetectionparams.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace icmil;
using json = nlohmann::json;

namespace {

constexpr double kNone = std::numeric_limits<double>::quiet_NaN();

struct Options {
    std::string preset = "camelyon";
    int slides = 100;
    std::string size = "8000x6400";
    int seeds = 3;
    int iterations = 1;
    int epochs = 100;
    double lr = 2e-4; // the reference's ABMIL rate
    // Fine-tuning: chosen on validation AUC (README, "Does the loop help?") over 2 x 3000 patches at
    // 1e-4 with and without the negative class, 4 x 6000 at 3e-4 without it, 1e-5 (the
    // reference's) and a sharpened teacher.
    int finetuneEpochs = 4;
    std::int64_t finetunePatches = 6000;
    double finetuneLr = 3e-4;
    double temperature = engine::DistillationConfig{}.teacherTemperature;
    std::int64_t calibrationPatches = project::IcmilLoopConfig{}.calibrationPatches;
    std::string model = "abmil";
    double valFraction = 0.2;
    double testFraction = 0.2;
    std::string device = "auto";
    bool bnTrain = false;
    bool confidence = false;
    std::string negativeClass = "normal"; // the synthetic datasets' negative label; "none": the teacher's targets everywhere
    std::string stainNorm = "none";
    double stainJitter = 0.0;
    bool resume = false;
    std::string json;
    fs::path dir = fs::temp_directory_path() / "icmil-loop-bench";
    fs::path dataset; // empty: dir / "dataset"
};

// One seed's figures for one iteration; NaN = not defined.
struct SeedFigures {
    int seed = 0;
    double valAuc = kNone, testAuc = kNone, testAccuracy = kNone;
    double patchAuc = kNone, localisation = kNone, ceiling = kNone;
    double pseudoLabelAuc = kNone, probeAuc = kNone;
    double studentAgreement = kNone, studentMae = kNone;
    double finetuneSeconds = 0.0, extractSeconds = 0.0, trainSeconds = 0.0;
};

Options parse(int argc, char **argv)
{
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc)
                throw std::runtime_error("missing value after " + arg);
            return argv[++i];
        };
        if (arg == "--preset")
            o.preset = value();
        else if (arg == "--slides")
            o.slides = std::stoi(value());
        else if (arg == "--size")
            o.size = value();
        else if (arg == "--seeds")
            o.seeds = std::stoi(value());
        else if (arg == "--iterations")
            o.iterations = std::stoi(value());
        else if (arg == "--epochs")
            o.epochs = std::stoi(value());
        else if (arg == "--lr")
            o.lr = std::stod(value());
        else if (arg == "--finetune-epochs")
            o.finetuneEpochs = std::stoi(value());
        else if (arg == "--finetune-patches")
            o.finetunePatches = std::stoll(value());
        else if (arg == "--finetune-lr")
            o.finetuneLr = std::stod(value());
        else if (arg == "--teacher-temperature")
            o.temperature = std::stod(value());
        else if (arg == "--calibration-patches")
            o.calibrationPatches = std::stoll(value());
        else if (arg == "--model")
            o.model = value();
        else if (arg == "--val-fraction")
            o.valFraction = std::stod(value());
        else if (arg == "--test-fraction")
            o.testFraction = std::stod(value());
        else if (arg == "--device")
            o.device = value();
        else if (arg == "--bn-train")
            o.bnTrain = true;
        else if (arg == "--confidence")
            o.confidence = true;
        else if (arg == "--negative-class") {
            o.negativeClass = value();
            if (o.negativeClass == "none")
                o.negativeClass.clear();
        } else if (arg == "--stain-norm")
            o.stainNorm = value();
        else if (arg == "--stain-jitter")
            o.stainJitter = std::stod(value());
        else if (arg == "--dataset")
            o.dataset = value();
        else if (arg == "--resume")
            o.resume = true;
        else if (arg == "--json")
            o.json = value();
        else if (arg == "--dir")
            o.dir = value();
        else
            throw std::runtime_error("unknown option " + arg);
    }
    if (!slide::parsePreset(o.preset))
        throw std::runtime_error("unknown preset '" + o.preset + "' (easy, camelyon or hard)");
    if (o.seeds < 1 || o.slides < 4 || o.iterations < 0)
        throw std::runtime_error("need --seeds >= 1, --slides >= 4 and --iterations >= 0");
    return o;
}

torch::Tensor featureTensor(const project::SlideFeatures &features)
{
    return torch::from_blob(const_cast<float *>(features.features.data()), {features.count, features.dim}, torch::kFloat).clone();
}

// The probability of class 1 from the classifier's instance head, per patch.
std::vector<double> instanceScores(engine::MilModel &model, const project::SlideFeatures &features)
{
    torch::NoGradGuard noGrad;
    const torch::Tensor probabilities = torch::softmax(model.instanceLogits(featureTensor(features)), 1).select(1, 1).contiguous();
    const float *p = probabilities.data_ptr<float>();
    return std::vector<double>(p, p + probabilities.numel());
}

// Logistic regression on standardised features, tumour patches weighted up to balance the
// classes, fitted on `train`, scored (ROC AUC) on `test`. NaN when either lacks a class.
double linearProbeAuc(const torch::Tensor &trainX, const std::vector<int> &trainY, const torch::Tensor &testX,
                      const std::vector<int> &testY)
{
    const auto positives = std::count(trainY.begin(), trainY.end(), 1);
    const auto testPositives = std::count(testY.begin(), testY.end(), 1);
    if (positives == 0 || positives == static_cast<long>(trainY.size()) || testPositives == 0
        || testPositives == static_cast<long>(testY.size()))
        return kNone;
    torch::manual_seed(0);
    const torch::Tensor mean = trainX.mean(0);
    const torch::Tensor sd = trainX.std(0).clamp_min(1e-6);
    const torch::Tensor x = (trainX - mean) / sd;
    const torch::Tensor y = torch::tensor(std::vector<float>(trainY.begin(), trainY.end()));
    torch::Tensor w = torch::zeros({x.size(1)}, torch::requires_grad());
    torch::Tensor b = torch::zeros({1}, torch::requires_grad());
    torch::optim::Adam optimiser({w, b}, torch::optim::AdamOptions(0.05).weight_decay(1e-3));
    const double weight = static_cast<double>(trainY.size() - static_cast<std::size_t>(positives)) / static_cast<double>(positives);
    const torch::Tensor posWeight = torch::tensor({static_cast<float>(weight)});
    for (int step = 0; step < 300; ++step) {
        optimiser.zero_grad();
        const torch::Tensor loss = torch::binary_cross_entropy_with_logits(torch::mv(x, w) + b, y, {}, posWeight);
        loss.backward();
        optimiser.step();
    }
    torch::NoGradGuard noGrad;
    const torch::Tensor scores = (torch::mv((testX - mean) / sd, w) + b).contiguous();
    const float *s = scores.data_ptr<float>();
    return engine::rocAuc(testY, std::vector<double>(s, s + scores.numel()));
}

// Everything measured on one seed's finished loop.
std::vector<SeedFigures> measure(int seed, const project::IcmilLoopResult &result, const project::ProjectLayout &layout,
                                 const project::TumourGroundTruth &truth, const project::DatasetSplit &split,
                                 const std::map<int, std::pair<double, double>> &agreement)
{
    std::vector<std::string> trainTumour, testTumour;
    for (const project::SlideSplit &s : split.slides) {
        if (!truth.hasTumour(s.slideId))
            continue;
        if (s.split == project::Split::Train)
            trainTumour.push_back(s.slideId);
        else if (s.split == project::Split::Test)
            testTumour.push_back(s.slideId);
    }
    std::vector<SeedFigures> rows;
    for (const project::IterationSummary &it : result.iterations) {
        SeedFigures f;
        f.seed = seed;
        if (it.val && it.val->auc)
            f.valAuc = *it.val->auc;
        if (it.test) {
            f.testAccuracy = it.test->accuracy;
            if (it.test->auc)
                f.testAuc = *it.test->auc;
        }
        const project::LocalisationScore attention
            = project::localiseAttention(truth, layout.attentionDir(it.encoder, it.runDir.filename().string()), testTumour);
        if (attention.slides > 0) {
            f.patchAuc = attention.patchAuc;
            f.localisation = attention.topFraction;
            f.ceiling = attention.ceiling;
        }
        // The teacher this iteration's classifier would be, on the training tumour slides.
        const std::shared_ptr<engine::MilModel> model
            = engine::instantiateMilModel(engine::readMilCheckpoint(it.runDir / "checkpoint.pth"), torch::kCPU);
        project::LocalisationAccumulator pseudo;
        std::vector<torch::Tensor> trainX, testX;
        std::vector<int> trainY, testY;
        for (const std::string &id : trainTumour) {
            const project::SlideFeatures features = project::readFeatureFile(layout.featureFile(it.encoder, id));
            const std::vector<int> labels = truth.patchLabels(id, features.coords, features.attributes.level0PatchSize().value_or(256));
            pseudo.add(labels, instanceScores(*model, features));
            trainX.push_back(featureTensor(features));
            trainY.insert(trainY.end(), labels.begin(), labels.end());
        }
        for (const std::string &id : testTumour) {
            const project::SlideFeatures features = project::readFeatureFile(layout.featureFile(it.encoder, id));
            const std::vector<int> labels = truth.patchLabels(id, features.coords, features.attributes.level0PatchSize().value_or(256));
            testX.push_back(featureTensor(features));
            testY.insert(testY.end(), labels.begin(), labels.end());
        }
        const project::LocalisationScore teacher = pseudo.score();
        if (teacher.slides > 0)
            f.pseudoLabelAuc = teacher.patchAuc;
        if (!trainX.empty() && !testX.empty())
            f.probeAuc = linearProbeAuc(torch::cat(trainX), trainY, torch::cat(testX), testY);
        if (const auto found = agreement.find(it.iteration); found != agreement.end()) {
            f.studentAgreement = found->second.first;
            f.studentMae = found->second.second;
        }
        f.finetuneSeconds = it.fineTuneSeconds;
        f.extractSeconds = it.extractSeconds;
        f.trainSeconds = it.trainSeconds;
        rows.push_back(f);
    }
    return rows;
}

// Mean and sample sd over the seeds that have the figure (foldaggregate.h); NaN when none has it.
project::MeanSd meanSd(const std::vector<double> &values)
{
    project::MeanSd m = project::meanSd(values);
    if (m.n == 0)
        m.mean = m.sd = kNone;
    return m;
}

json number(double value)
{
    return std::isnan(value) ? json(nullptr) : json(value);
}

std::string text(double value, int decimals = 3)
{
    if (std::isnan(value))
        return "-";
    std::ostringstream out;
    out << std::fixed << std::setprecision(decimals) << value;
    return out.str();
}

std::string cell(const project::MeanSd &m)
{
    return std::isnan(m.mean) ? "-" : text(m.mean) + "±" + text(m.sd);
}

} // namespace

int main(int argc, char **argv)
{
    engine::preferPassiveOpenMpWait(argv);
    engine::configureThreads(0);
    try {
        const Options o = parse(argc, argv);
        std::cout << "icmil-loop-bench: " << engine::describe(engine::runtimeInfo()) << "\n";
        const auto started = std::chrono::steady_clock::now();

        project::SyntheticDatasetConfig synth;
        synth.outputDir = o.dataset.empty() ? o.dir / "dataset" : o.dataset;
        synth.slides = o.slides;
        synth.seed = 2026;
        synth.preset = *slide::parsePreset(o.preset);
        const auto x = o.size.find('x');
        if (x == std::string::npos)
            throw std::runtime_error("--size must be WIDTHxHEIGHT");
        synth.width = std::stoll(o.size.substr(0, x));
        synth.height = std::stoll(o.size.substr(x + 1));
        const project::SyntheticDatasetResult dataset = project::SyntheticDataset(synth).generate();
        const std::optional<project::TumourGroundTruth> truth = project::TumourGroundTruth::load(synth.outputDir);
        if (!truth)
            throw std::runtime_error("the generated dataset has no dataset.json");
        std::cout << "Dataset: " << o.slides << " slides of " << o.size << ", preset " << o.preset << " ("
                  << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s)\n";

        std::vector<std::vector<SeedFigures>> perSeed; // [seed][iteration]
        std::string device;
        std::string splitText;
        for (int seed = 1; seed <= o.seeds; ++seed) {
            project::IcmilLoopConfig c;
            c.projectRoot = o.dir / ("seed-" + std::to_string(seed));
            c.slides = synth.outputDir;
            c.iterations = o.iterations;
            c.device = o.device;
            c.embedder.name = "tiny-cnn";
            c.embedder.seed = static_cast<std::uint64_t>(seed);
            c.calibrationPatches = o.calibrationPatches;
            c.extraction.tiling.tissue = slide::TissueDetectionParams::preset("bwh_biopsy");
            c.model.type = engine::parseMilModelType(o.model);
            c.trainer.epochs = o.epochs;
            c.trainer.learningRate = o.lr;
            c.trainer.seed = static_cast<std::uint64_t>(seed);
            c.split.valFraction = o.valFraction;
            c.split.testFraction = o.testFraction;
            c.split.seed = static_cast<std::uint64_t>(seed);
            c.fineTuning.epochs = o.finetuneEpochs;
            c.fineTuning.patchesPerEpoch = o.finetunePatches;
            c.fineTuning.seed = static_cast<std::uint64_t>(seed);
            c.fineTuning.distillation.seed = static_cast<std::uint64_t>(seed);
            c.fineTuning.distillation.learningRate = o.finetuneLr;
            c.fineTuning.distillation.teacherTemperature = o.temperature;
            c.fineTuning.distillation.freezeBatchNorm = !o.bnTrain;
            c.fineTuning.distillation.confidenceWeighted = o.confidence;
            c.fineTuning.distillation.augmentation.stainJitter = o.stainJitter;
            c.negativeClass = o.negativeClass;
            c.extraction.stain.method = engine::parseStainMethod(o.stainNorm);
            c.overwrite = !o.resume;

            std::map<int, std::pair<double, double>> agreement; // iteration -> best epoch's (agreement, MAE)
            project::IcmilLoopEvents events;
            events.fineTuningEpochFinished = [&](int k, const project::FineTuningEpoch &e) {
                std::cout << "  seed " << seed << " it " << k << " fine-tune epoch " << e.epoch + 1 << " loss " << text(e.loss.total, 5)
                          << " held-out MAE " << text(e.validationMae, 4) << " agreement " << text(e.validationAccuracy) << std::endl;
                if (e.best)
                    agreement[k] = {e.validationAccuracy, e.validationMae};
            };
            events.iterationFinished = [&](const project::IterationSummary &it) {
                std::cout << "  seed " << seed << " iteration " << it.iteration << ": val AUC "
                          << (it.val && it.val->auc ? text(*it.val->auc) : "-") << ", test AUC "
                          << (it.test && it.test->auc ? text(*it.test->auc) : "-") << " (" << text(it.seconds(), 1) << " s)" << std::endl;
            };
            const project::IcmilLoopResult result = project::IcmilLoop(c).run(events);
            device = result.device;
            splitText = result.splitDescription;
            const project::DatasetSplit split = project::assignSplits(project::LabelsTable::read(dataset.labelsPath), c.split);
            perSeed.push_back(measure(seed, result, project::ProjectLayout(c.projectRoot), *truth, split, agreement));
        }

        std::cout << "\nICMIL loop benchmark: preset " << o.preset << ", " << o.slides << " slides of " << o.size << ", " << o.seeds
                  << " seed(s); split (seed 1) " << splitText << "; tiny-cnn from random initialisation"
                  << (o.calibrationPatches > 0 ? ", batch norm calibrated on " + std::to_string(o.calibrationPatches) + " patches" : "")
                  << ", " << o.model << ", " << o.epochs << " classifier epochs at lr " << std::defaultfloat << o.lr << "; fine-tuning "
                  << o.finetuneEpochs << " x " << o.finetunePatches << " patches at lr " << o.finetuneLr << ", teacher temperature "
                  << o.temperature << (o.bnTrain ? ", batch norm trained" : ", batch norm frozen")
                  << (o.confidence ? ", confidence-weighted" : "") << "; device " << device << "\n\n";
        std::cout
            << "per seed:\n seed it  val AUC test AUC patch AUC top10% (ceil)  pseudo AUC probe AUC  agree   fine-tune s extract s train s\n";
        for (const auto &rows : perSeed)
            for (std::size_t k = 0; k < rows.size(); ++k) {
                const SeedFigures &f = rows[k];
                std::cout << std::setw(5) << f.seed << std::setw(3) << k << std::setw(9) << text(f.valAuc) << std::setw(9)
                          << text(f.testAuc) << std::setw(10) << text(f.patchAuc) << std::setw(7) << text(f.localisation) << " ("
                          << text(f.ceiling) << ")" << std::setw(11) << text(f.pseudoLabelAuc) << std::setw(10) << text(f.probeAuc)
                          << std::setw(7) << text(f.studentAgreement) << std::setw(13) << text(f.finetuneSeconds, 1) << std::setw(10)
                          << text(f.extractSeconds, 1) << std::setw(8) << text(f.trainSeconds, 1) << "\n";
            }

        json iterations = json::array();
        std::cout << "\nmean ± sd over " << o.seeds
                  << " seed(s):\n it  val AUC      test AUC     patch AUC    top10%       pseudo AUC   probe AUC    agreement\n";
        const std::size_t count = perSeed.front().size();
        for (std::size_t k = 0; k < count; ++k) {
            std::map<std::string, std::vector<double>> columns;
            json seeds = json::array();
            for (const auto &rows : perSeed) {
                if (k >= rows.size())
                    continue;
                const SeedFigures &f = rows[k];
                columns["val_auc"].push_back(f.valAuc);
                columns["test_auc"].push_back(f.testAuc);
                columns["test_accuracy"].push_back(f.testAccuracy);
                columns["patch_auc"].push_back(f.patchAuc);
                columns["localisation"].push_back(f.localisation);
                columns["localisation_ceiling"].push_back(f.ceiling);
                columns["pseudo_label_auc"].push_back(f.pseudoLabelAuc);
                columns["probe_auc"].push_back(f.probeAuc);
                columns["student_agreement"].push_back(f.studentAgreement);
                columns["student_mae"].push_back(f.studentMae);
                columns["finetune_seconds"].push_back(f.finetuneSeconds);
                columns["extract_seconds"].push_back(f.extractSeconds);
                columns["train_seconds"].push_back(f.trainSeconds);
                seeds.push_back(json{{"seed", f.seed},
                                     {"val_auc", number(f.valAuc)},
                                     {"test_auc", number(f.testAuc)},
                                     {"patch_auc", number(f.patchAuc)},
                                     {"localisation", number(f.localisation)},
                                     {"pseudo_label_auc", number(f.pseudoLabelAuc)},
                                     {"probe_auc", number(f.probeAuc)},
                                     {"student_agreement", number(f.studentAgreement)}});
            }
            json row{{"iteration", static_cast<int>(k)}};
            for (const auto &[name, values] : columns) {
                const project::MeanSd m = meanSd(values);
                row[name + "_mean"] = number(m.mean);
                row[name + "_sd"] = number(m.sd);
            }
            row["per_seed"] = seeds;
            iterations.push_back(row);
            std::cout << std::setw(3) << k;
            for (const char *name :
                 {"val_auc", "test_auc", "patch_auc", "localisation", "pseudo_label_auc", "probe_auc", "student_agreement"})
                std::cout << "  " << std::left << std::setw(11) << cell(meanSd(columns[name])) << std::right;
            std::cout << "\n";
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::cout << "\nwall time " << text(seconds, 0) << " s\n";
        const json report{{"preset", o.preset},
                          {"seeds", o.seeds},
                          {"slides", o.slides},
                          {"size", o.size},
                          {"device", device},
                          {"settings",
                           {{"model", o.model},
                            {"embedder", "tiny-cnn"},
                            {"iterations", o.iterations},
                            {"epochs", o.epochs},
                            {"lr", o.lr},
                            {"finetune_epochs", o.finetuneEpochs},
                            {"finetune_patches", o.finetunePatches},
                            {"finetune_lr", o.finetuneLr},
                            {"calibration_patches", o.calibrationPatches},
                            {"teacher_temperature", o.temperature},
                            {"batch_norm_trained", o.bnTrain},
                            {"confidence", o.confidence},
                            {"negative_class", o.negativeClass},
                            {"stain_normalisation", o.stainNorm},
                            {"stain_jitter", o.stainJitter},
                            {"val_fraction", o.valFraction},
                            {"test_fraction", o.testFraction}}},
                          {"seconds", seconds},
                          {"iterations", iterations}};
        if (!o.json.empty()) {
            std::ofstream out(o.json);
            out << report.dump(2) << "\n";
            if (!out)
                throw std::runtime_error("cannot write " + o.json);
        }
        return 0;
    } catch (const std::exception &error) {
        std::cerr << "icmil-loop-bench: " << error.what() << "\n";
        return 1;
    }
}
