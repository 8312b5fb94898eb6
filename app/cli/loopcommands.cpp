// SPDX-License-Identifier: GPL-3.0-or-later
// `icmil run`: the ICMIL loop from the command line, with a progress bar, one line per
// fine-tuning epoch and per classifier epoch milestone, and a per-iteration summary table; with
// --folds K and no --fold, the loop on every fold and a mean ± sd table per iteration.
#include "cliformat.h"
#include "commands.h"
#include "distributedcli.h"
#include "interruptguard.h"
#include "progressbar.h"

#include "engine/engineerror.h"
#include "engine/runtime/runtime.h"
#include "project/loop/icmilfolds.h"
#include "project/export/tumourgroundtruth.h"
#include "project/loop/icmilloop.h"
#include "project/projectcatalog.h"
#include "project/projecterror.h"
#include "slide/slideerror.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <stdexcept>

namespace icmil::cli {

namespace {

namespace fs = std::filesystem;

// A stopped loop's last line, also when the process does not wait for the job (InterruptGuard).
const std::string kCancelledLine = "Cancelled; run the same command again to resume at the phase that was under way.";
const std::string kFoldsCancelledLine = "Cancelled; run the same command again to resume at the fold and phase that were under way.";

std::string figure(const std::optional<project::IterationSplitFigures> &f, int which)
{
    if (!f)
        return "-";
    switch (which) {
    case 0: return f->auc ? fixed(*f->auc, 3) : "-";
    case 1: return fixed(f->accuracy, 3);
    default: return fixed(f->f1, 3);
    }
}

std::string duration(double seconds)
{
    if (seconds < 0.0)
        return "?";
    const auto s = static_cast<long>(seconds + 0.5);
    std::ostringstream text;
    if (s >= 3600)
        text << s / 3600 << "h" << std::setw(2) << std::setfill('0') << (s % 3600) / 60 << "m";
    else if (s >= 60)
        text << s / 60 << "m" << std::setw(2) << std::setfill('0') << s % 60 << "s";
    else
        text << s << "s";
    return text.str();
}

// Each iteration's attention against the slides' tumour ground truth (a synthetic dataset's
// masks), or nothing for every iteration when the slides carry none. A damaged mask or attention
// file leaves that iteration's figures out ("-"): the table is for a finished run.
std::vector<std::optional<project::LocalisationScore>> localisations(const project::IcmilLoopConfig &config,
                                                                     const std::vector<project::IterationSummary> &iterations)
{
    std::vector<std::optional<project::LocalisationScore>> scores;
    for (const project::IterationSummary &it : iterations) {
        try {
            scores.push_back(project::localiseRunAttention(config.slides, config.projectRoot, it.encoder, it.runDir.filename().string()));
        } catch (const std::exception &) {
            scores.emplace_back();
        }
    }
    return scores;
}

// With ground truth, two more columns: the attention's patch AUC and the share of its top-10%
// patches in tumour, over every tumour slide (the training panel's dashed line and table).
void printIterationTable(const project::IcmilLoopConfig &config, const std::vector<project::IterationSummary> &iterations)
{
    const auto localised = localisations(config, iterations);
    const bool withTruth = std::any_of(localised.begin(), localised.end(), [](const auto &s) { return s.has_value(); });
    std::cout << std::right << std::setfill(' ');
    std::cout << "  it   val AUC  val acc   val F1  test AUC test acc  test F1  fine-tune MAE    fine-tune   extract     train"
              << (withTruth ? "  patch AUC  top-10% (ceiling)" : "") << "\n";
    for (std::size_t k = 0; k < iterations.size(); ++k) {
        const project::IterationSummary &it = iterations[k];
        std::cout << std::setw(4) << it.iteration << std::setw(10) << figure(it.val, 0) << std::setw(9) << figure(it.val, 1) << std::setw(9)
                  << figure(it.val, 2) << std::setw(10) << figure(it.test, 0) << std::setw(9) << figure(it.test, 1) << std::setw(9)
                  << figure(it.test, 2);
        const std::string mae = it.iteration > 0 ? fixed(it.fineTuneMaeBefore, 4) + "->" + fixed(it.fineTuneMaeAfter, 4) : "-";
        std::cout << std::setw(15) << mae << std::setw(13) << (it.iteration > 0 ? fixed(it.fineTuneSeconds, 1) + " s" : "-")
                  << std::setw(10) << fixed(it.extractSeconds, 1) + " s" << std::setw(10) << fixed(it.trainSeconds, 1) + " s";
        if (withTruth) {
            const auto &score = localised[k];
            std::cout << std::setw(11) << (score ? fixed(score->patchAuc, 3) : "-") << std::setw(19)
                      << (score ? fixed(score->topFraction, 3) + " (" + fixed(score->ceiling, 3) + ")" : "-");
        }
        std::cout << '\n';
    }
}

} // namespace

project::IcmilLoopConfig loopConfig(const RunOptions &options)
{
    project::IcmilLoopConfig config;
    config.projectRoot = options.extract.tile.projectDir;
    config.slides = options.extract.tile.slides;
    config.labelsCsv = options.train.labels;
    config.name = options.name;
    config.iterations = options.iterations;
    config.device = options.train.device;
    config.extraction = extractionConfig(options.extract); // the loop sets project, embedder, device, overwrite per phase
    config.embedder = config.extraction.embedder;

    // The classifier's settings as `icmil train` reads them (the loop sets data, run and device).
    TrainOptions train = options.train;
    train.device = "cpu"; // resolved by the loop, once
    const project::MilTrainingConfig classifier = milTrainingConfig(train, {}, {});
    config.model = classifier.model;
    config.trainer = classifier.trainer;
    config.classNames = classifier.data.classNames;
    config.split = classifier.data.split;

    config.fineTuning.epochs = options.finetuneEpochs;
    config.fineTuning.patchesPerEpoch = options.finetunePatches;
    config.fineTuning.batchSize = options.finetuneBatch;
    config.fineTuning.validationFraction = options.finetuneValFraction;
    config.fineTuning.maxValidationPatches = options.finetuneValMax;
    config.fineTuning.readerThreads = options.extract.readers;
    config.fineTuning.seed = options.train.seed;
    config.fineTuning.distillation.learningRate = options.finetuneLr;
    config.fineTuning.distillation.weightDecay = options.finetuneWeightDecay;
    config.fineTuning.distillation.gradientClip = options.finetuneClip;
    config.fineTuning.distillation.confidenceWeighted = options.confidence;
    config.fineTuning.distillation.confidenceBeta = options.beta;
    config.fineTuning.distillation.seed = options.train.seed;
    config.fineTuning.distillation.mixedPrecision = options.extract.half;
    config.fineTuning.distillation.freezeBatchNorm = !options.batchNormTraining;
    config.fineTuning.distillation.teacherTemperature = options.teacherTemperature;
    config.fineTuning.distillation.augmentation.stainJitter = options.stainJitter;
    config.negativeClass = options.negativeClass;
    config.calibrationPatches = options.calibrationPatches;
    config.overwrite = options.train.overwrite;
    config.strict = options.strict;
    return config;
}

namespace {

void printLeftOut(const std::vector<project::LeftOutSlide> &slides)
{
    if (!slides.empty())
        std::cout << "Left out: " << slides.size() << " slide(s): " << project::describeLeftOut(slides, 10) << "\n";
}

// The loop's events for a terminal; `prefix` ("fold 1 " or empty) starts every line.
project::IcmilLoopEvents printingEvents(const project::IcmilLoopConfig &config, ProgressBar &bar, const std::string &prefix)
{
    project::IcmilLoopEvents events;
    events.message = [&bar](const std::string &text) {
        bar.finish();
        std::cout << text << std::endl;
    };
    events.progress = [&bar, &prefix](const project::LoopProgress &p) {
        std::string detail = prefix + "it " + std::to_string(p.iteration) + " " + p.phase + " " + p.step;
        if (p.loss >= 0.0)
            detail += " loss " + fixed(p.loss, 4);
        if (p.etaSeconds >= 0.0)
            detail += " eta " + duration(p.etaSeconds);
        bar.update(static_cast<int>(p.done), static_cast<int>(std::max<std::int64_t>(1, p.total)), 0.0, detail);
    };
    events.fineTuningEpochFinished = [&config, &bar, &prefix](int k, const project::FineTuningEpoch &e) {
        bar.finish();
        std::cout << prefix << "it " << k << " fine-tune epoch " << e.epoch + 1 << "/" << config.fineTuning.epochs << "  loss "
                  << fixed(e.loss.total, 5) << " (student " << fixed(e.loss.student, 5) << ")  held-out MAE " << fixed(e.validationMae, 4)
                  << " agree " << fixed(e.validationAccuracy, 3) << "  " << fixed(e.patchesPerSecond, 1) << " patches/s"
                  << (e.best ? "  *best" : "") << std::endl;
    };
    events.epochFinished = [&bar, &prefix](int k, const engine::EpochReport &r) {
        const int every = std::max(1, r.epochs / 10);
        if ((r.epoch + 1) % every != 0 && r.epoch + 1 != r.epochs)
            return;
        bar.finish();
        std::cout << prefix << "it " << k << " classifier epoch " << std::right << std::setw(4) << r.epoch + 1 << "/" << r.epochs
                  << "  loss " << fixed(r.trainLoss, 4);
        if (r.hasValidation)
            std::cout << "  val AUC " << fixed(r.val.auc, 3) << " loss " << fixed(r.valLoss, 4);
        std::cout << std::endl;
    };
    events.phaseFinished = [&bar, &prefix](int k, const std::string &phase) {
        bar.finish();
        std::cout << prefix << "it " << k << " " << phase << " done" << std::endl;
    };
    events.iterationFinished = [&bar, &prefix](const project::IterationSummary &it) {
        bar.finish();
        std::cout << prefix << "iteration " << it.iteration << ": val AUC " << figure(it.val, 0) << ", test AUC " << figure(it.test, 0)
                  << " (" << duration(it.seconds()) << ")" << std::endl;
    };
    return events;
}

// The folds' figures as "0.812 ± 0.034"; "(n)" after it when fewer folds than finished the
// iteration have the figure.
std::string meanSdText(const project::MeanSd &value, int folds)
{
    if (value.n == 0)
        return "-";
    std::string text = fixed(value.mean, 3) + " ± " + fixed(value.sd, 3);
    if (value.n < folds)
        text += " (" + std::to_string(value.n) + ")";
    return text;
}

void printFoldsTable(const std::vector<project::FoldIterationAggregate> &iterations, int folds)
{
    std::cout << "Mean ± sd over " << folds << " folds\n";
    std::cout << "  it folds  val AUC              test AUC             val acc              test acc\n";
    bool partial = false;
    for (const project::FoldIterationAggregate &a : iterations) {
        std::cout << std::right << std::setw(4) << a.iteration << std::setw(6) << a.folds << "  " << std::left;
        // setw counts bytes and "±" is two: pad by hand, the last column not at all.
        const std::vector<const project::MeanSd *> values = {&a.valAuc, &a.testAuc, &a.valAccuracy, &a.testAccuracy};
        for (std::size_t i = 0; i < values.size(); ++i) {
            const std::string text = meanSdText(*values[i], a.folds);
            const std::size_t shown = text.size() - (text == "-" ? 0 : 1);
            std::cout << text << (i + 1 < values.size() ? std::string(shown < 21 ? 21 - shown : 1, ' ') : std::string());
            partial = partial || (values[i]->n > 0 && values[i]->n < a.folds);
        }
        std::cout << std::right << '\n';
    }
    if (partial)
        std::cout << "(n): over n folds only; the others have no AUC (a class missing from the split)\n";
}

int runOneLoop(const project::IcmilLoopConfig &config, const DistributedRun &dist)
{
    project::IcmilLoop loop(config, dist.group.get());
    if (!dist.leader()) { // rank 0 prints the loop; the others say what they do
        const project::IcmilLoopResult result = [&] {
            const InterruptGuard guard([&loop] { loop.cancel(); }, kCancelledLine);
            project::IcmilLoopEvents events;
            events.message = [&dist](const std::string &text) { std::cout << "Rank " << dist.rank() << ": " << text << std::endl; };
            events.phaseFinished = [&dist](int k, const std::string &phase) {
                std::cout << "Rank " << dist.rank() << ": it " << k << " " << phase << " done" << std::endl;
            };
            return loop.run(events);
        }();
        std::cout << "Rank " << dist.rank() << ": " << (result.cancelled ? "cancelled" : "finished") << "; rank 0 prints the results\n";
        return result.cancelled ? 130 : 0;
    }
    const int iterations = config.iterations + 1;
    std::cout << "ICMIL loop '" << config.name << "' on " << config.projectRoot.string() << ": " << iterations
              << " iterations (0 = " << config.embedder.name << " as given, then " << config.iterations << " fine-tuning rounds), "
              << engine::milModelTypeName(config.model.type) << ", seed " << config.trainer.seed;
    if (config.split.folds >= 2)
        std::cout << ", fold " << config.split.fold << " of " << config.split.folds;
    std::cout << "\n";

    ProgressBar bar;
    const std::string prefix;
    const project::IcmilLoopEvents events = printingEvents(config, bar, prefix);
    const project::IcmilLoopResult result = [&] {
        const InterruptGuard guard([&loop] { loop.cancel(); }, kCancelledLine);
        return loop.run(events);
    }();
    bar.finish();

    std::cout << "\nSplit: " << result.splitDescription << "\nDevice: " << result.device << "\n";
    printLeftOut(result.leftOut);
    if (!result.iterations.empty())
        printIterationTable(config, result.iterations);
    if (result.cancelled) {
        std::cout << kCancelledLine << "\n";
        return 130;
    }
    const project::IterationSummary &last = result.iterations.back();
    std::cout << "Per iteration: " << result.iterationsCsv.string() << "\n"
              << "Predictions (iteration " << last.iteration << "): " << (last.runDir / "predictions.csv").string() << "\n"
              << "Attention maps: " << (config.projectRoot / "features" / last.encoder / "attention" / last.runDir.filename()).string()
              << "\n"
              << "Finished in " << duration(result.seconds) << (result.resumedAt >= 0 ? " (resumed)" : "") << "\n";
    return 0;
}

int runFoldedLoop(const project::IcmilLoopConfig &config)
{
    project::FoldedIcmilLoopConfig folded;
    folded.loop = config;
    folded.folds = config.split.folds;
    project::FoldedIcmilLoop loop(folded);
    const int folds = config.split.folds;
    std::cout << "ICMIL loop '" << config.name << "' on " << config.projectRoot.string() << ", on " << folds
              << " folds: " << config.iterations + 1 << " iterations each (0 = " << config.embedder.name << " as given, then "
              << config.iterations << " fine-tuning rounds), " << engine::milModelTypeName(config.model.type) << ", seed "
              << config.trainer.seed << "\n"
              << "Fold k is the loop '" << config.name << "-fold<k>'; iteration 0's features are extracted once for all folds (features/"
              << project::FoldedIcmilLoop::sharedEncoderName(config.name) << ")\n";

    ProgressBar bar;
    std::string prefix;
    bool worked = false; // the fold under way has finished a phase in this run
    const project::IcmilLoopEvents perFold = printingEvents(config, bar, prefix);
    project::FoldedIcmilLoopEvents events;
    events.foldStarted = [&](int fold, int count) {
        bar.finish();
        prefix = "fold " + std::to_string(fold) + " ";
        worked = false;
        std::cout << "\n== Fold " << fold << " (" << fold + 1 << " of " << count << "): loop '"
                  << project::FoldedIcmilLoop::foldLoopName(config.name, fold) << "'" << std::endl;
    };
    events.foldFinished = [&](int fold, const project::IcmilLoopResult &result) {
        bar.finish();
        std::cout << "\nFold " << fold << " split: " << result.splitDescription << "\n";
        printLeftOut(result.leftOut);
        printIterationTable(config, result.iterations);
        if (!worked)
            std::cout << "Fold " << fold << " was finished already" << std::endl;
        else
            std::cout << "Fold " << fold << " finished in " << duration(result.seconds) << (result.resumedAt >= 0 ? " (resumed)" : "")
                      << std::endl;
    };
    events.message = [&](int, const std::string &text) { perFold.message(text); };
    events.progress = [&](int, const project::LoopProgress &p) { perFold.progress(p); };
    events.fineTuningEpochFinished = [&](int, int k, const project::FineTuningEpoch &e) { perFold.fineTuningEpochFinished(k, e); };
    events.epochFinished = [&](int, int k, const engine::EpochReport &r) { perFold.epochFinished(k, r); };
    events.phaseFinished = [&](int, int k, const std::string &phase) {
        worked = true;
        perFold.phaseFinished(k, phase);
    };
    events.iterationFinished = [&](int, const project::IterationSummary &it) { perFold.iterationFinished(it); };

    const project::FoldedIcmilLoopResult result = [&] {
        const InterruptGuard guard([&loop] { loop.cancel(); }, kFoldsCancelledLine);
        return loop.run(events);
    }();
    bar.finish();

    if (result.cancelled && !result.folds.empty() && result.folds.back().cancelled) {
        const project::IcmilLoopResult &stopped = result.folds.back();
        std::cout << "\nFold " << result.folds.size() - 1 << " split: " << stopped.splitDescription << "\n";
        if (!stopped.iterations.empty())
            printIterationTable(config, stopped.iterations);
    }
    if (!result.folds.empty())
        std::cout << "\nDevice: " << result.folds.front().device << "\n";
    std::cout << "\n";
    if (!result.aggregate.empty())
        printFoldsTable(result.aggregate, folds);
    if (result.cancelled) {
        std::cout << kFoldsCancelledLine << "\n";
        return 130;
    }
    std::cout << "Per iteration over the folds: " << result.aggregateJson.string() << ", " << result.aggregateCsv.string() << "\n"
              << "Per fold: " << (config.projectRoot / "icmil" / (config.name + "-fold<k>") / "iterations.csv").string() << "\n"
              << "Finished in " << duration(result.seconds) << "\n";
    return 0;
}

} // namespace

namespace {

// The slides and labels: as given, else where the project's icmil-project.json says (a project
// the app made), else the project folder itself. Recorded in icmil-project.json, so the app opens
// the project with its slides wherever they are.
// `record`: write them into the project (a torch.distributed job's rank 0 alone does).
RunOptions withProjectInputs(RunOptions options, bool record)
{
    const fs::path &root = options.extract.tile.projectDir;
    if (options.extract.tile.slides.empty()) {
        const project::ProjectSettings settings = project::readProjectSettings(root);
        options.extract.tile.slides = settings.slides;
        if (options.train.labels.empty())
            options.train.labels = settings.labelsCsv;
    }
    // The labels the loop reads when none are given.
    const fs::path &slides = options.extract.tile.slides;
    fs::path labels = options.train.labels;
    if (labels.empty())
        labels = fs::exists(slides / "labels.csv") ? slides / "labels.csv" : root / "labels.csv";
    if (record && fs::is_directory(slides) && fs::exists(labels) && project::recordProjectInputs(root, slides, labels))
        std::cout << "Project " << root.string() << ": slides " << fs::absolute(slides).lexically_normal().string() << ", labels "
                  << fs::absolute(labels).lexically_normal().string() << " (recorded in "
                  << project::projectSettingsFile(root).filename().string() << " for the app)\n";
    return options;
}

} // namespace

int runLoop(const RunOptions &given, const std::function<void(project::IcmilLoopConfig &)> &adjust)
{
    const int folds = given.train.folds;
    if (given.train.fold >= folds)
        throw std::invalid_argument("--fold " + std::to_string(given.train.fold) + " is out of range: with --folds " + std::to_string(folds)
                                    + (folds == 1 ? " it must be 0" : " it must be from 0 to " + std::to_string(folds - 1)));
    // torch.distributed: the device becomes this rank's GPU, the threads this rank's share.
    RunOptions joined = given;
    const DistributedRun dist = joinDistributed(joined.extract.dist, joined.train.device, joined.extract.readers);
    if (dist.active() && given.allFolds)
        throw std::invalid_argument("--folds without --fold runs every fold in one process; in a torch.distributed job run one "
                                    "--fold per job");
    const RunOptions options = withProjectInputs(joined, dist.leader());
    project::IcmilLoopConfig config = loopConfig(options);
    if (adjust)
        adjust(config);
    return options.allFolds ? runFoldedLoop(config) : runOneLoop(config, dist);
}

} // namespace icmil::cli
