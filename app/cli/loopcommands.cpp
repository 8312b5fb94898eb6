// `icmil run`: the ICMIL loop from the command line, with a progress bar, one line per
// fine-tuning epoch and per classifier epoch milestone, and a per-iteration summary table.
#include "cliformat.h"
#include "commands.h"
#include "progressbar.h"

#include "engine/engineerror.h"
#include "engine/runtime.h"
#include "project/icmilloop.h"
#include "project/projecterror.h"
#include "slide/slideerror.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <iomanip>
#include <iostream>
#include <thread>

namespace icmil::cli {

namespace {

namespace fs = std::filesystem;

// Ctrl-C sets a flag (all a signal handler may do); a watcher thread asks the loop to stop.
std::atomic_bool g_interrupted{false};

extern "C" void onLoopInterrupt(int)
{
    if (g_interrupted.exchange(true)) {
        std::signal(SIGINT, SIG_DFL);
        std::raise(SIGINT);
    }
}

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

void printIterationTable(const std::vector<project::IterationSummary> &iterations)
{
    std::cout << std::right << std::setfill(' ');
    std::cout << "  it   val AUC  val acc   val F1  test AUC test acc  test F1  fine-tune MAE    fine-tune   extract     train\n";
    for (const project::IterationSummary &it : iterations) {
        std::cout << std::setw(4) << it.iteration << std::setw(10) << figure(it.val, 0) << std::setw(9) << figure(it.val, 1) << std::setw(9)
                  << figure(it.val, 2) << std::setw(10) << figure(it.test, 0) << std::setw(9) << figure(it.test, 1) << std::setw(9)
                  << figure(it.test, 2);
        const std::string mae = it.iteration > 0 ? fixed(it.fineTuneMaeBefore, 4) + "->" + fixed(it.fineTuneMaeAfter, 4) : "-";
        std::cout << std::setw(15) << mae << std::setw(13) << (it.iteration > 0 ? fixed(it.fineTuneSeconds, 1) + " s" : "-") << std::setw(10)
                  << fixed(it.extractSeconds, 1) + " s" << std::setw(10) << fixed(it.trainSeconds, 1) + " s" << '\n';
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
    config.overwrite = options.train.overwrite;
    return config;
}

int runLoop(const RunOptions &options)
{
    try {
        project::IcmilLoop loop(loopConfig(options));
        const int iterations = options.iterations + 1;
        std::cout << "ICMIL loop '" << options.name << "' on " << options.extract.tile.projectDir.string() << ": " << iterations
                  << " iterations (0 = " << options.extract.embedder << " as given, then " << options.iterations << " fine-tuning rounds), "
                  << options.train.model << ", seed " << options.train.seed << "\n";

        ProgressBar bar;
        project::IcmilLoopEvents events;
        events.message = [&](const std::string &text) {
            bar.finish();
            std::cout << text << std::endl;
        };
        events.progress = [&](const project::LoopProgress &p) {
            std::string detail = "it " + std::to_string(p.iteration) + " " + p.phase + " " + p.step;
            if (p.loss >= 0.0)
                detail += " loss " + fixed(p.loss, 4);
            if (p.etaSeconds >= 0.0)
                detail += " eta " + duration(p.etaSeconds);
            bar.update(static_cast<int>(p.done), static_cast<int>(std::max<std::int64_t>(1, p.total)), 0.0, detail);
        };
        events.fineTuningEpochFinished = [&](int k, const project::FineTuningEpoch &e) {
            bar.finish();
            std::cout << "it " << k << " fine-tune epoch " << e.epoch + 1 << "/" << options.finetuneEpochs << "  loss " << fixed(e.loss.total, 5)
                      << " (student " << fixed(e.loss.student, 5) << ")  held-out MAE " << fixed(e.validationMae, 4) << " agree "
                      << fixed(e.validationAccuracy, 3) << "  " << fixed(e.patchesPerSecond, 1) << " patches/s" << (e.best ? "  *best" : "")
                      << std::endl;
        };
        events.epochFinished = [&](int k, const engine::EpochReport &r) {
            const int every = std::max(1, r.epochs / 10);
            if ((r.epoch + 1) % every != 0 && r.epoch + 1 != r.epochs)
                return;
            bar.finish();
            std::cout << "it " << k << " classifier epoch " << std::right << std::setw(4) << r.epoch + 1 << "/" << r.epochs << "  loss " << fixed(r.trainLoss, 4);
            if (r.hasValidation)
                std::cout << "  val AUC " << fixed(r.val.auc, 3) << " loss " << fixed(r.valLoss, 4);
            std::cout << std::endl;
        };
        events.phaseFinished = [&](int k, const std::string &phase) {
            bar.finish();
            std::cout << "it " << k << " " << phase << " done" << std::endl;
        };
        events.iterationFinished = [&](const project::IterationSummary &it) {
            bar.finish();
            std::cout << "iteration " << it.iteration << ": val AUC " << figure(it.val, 0) << ", test AUC " << figure(it.test, 0) << " ("
                      << duration(it.seconds()) << ")" << std::endl;
        };

        g_interrupted = false;
        std::signal(SIGINT, onLoopInterrupt);
        std::atomic_bool finished{false};
        std::thread watcher([&] {
            while (!finished) {
                if (g_interrupted) {
                    loop.cancel();
                    return;
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
        });
        project::IcmilLoopResult result;
        try {
            result = loop.run(events);
        } catch (...) {
            finished = true;
            watcher.join();
            std::signal(SIGINT, SIG_DFL);
            throw;
        }
        finished = true;
        watcher.join();
        std::signal(SIGINT, SIG_DFL);
        bar.finish();

        std::cout << "\nSplit: " << result.splitDescription << "\nDevice: " << result.device << "\n";
        if (!result.iterations.empty())
            printIterationTable(result.iterations);
        if (result.cancelled) {
            std::cout << "Cancelled; run the same command again to resume at the phase that was under way.\n";
            return 130;
        }
        const project::IterationSummary &last = result.iterations.back();
        std::cout << "Per iteration: " << result.iterationsCsv.string() << "\n"
                  << "Predictions (iteration " << last.iteration << "): " << (last.runDir / "predictions.csv").string() << "\n"
                  << "Attention maps: " << (options.extract.tile.projectDir / "features" / last.encoder / "attention" / last.encoder).string() << "\n"
                  << "Finished in " << duration(result.seconds) << (result.resumedAt >= 0 ? " (resumed)" : "") << "\n";
        return 0;
    } catch (const std::exception &error) {
        std::cerr << "icmil run: " << error.what() << '\n';
        return 1;
    }
}

} // namespace icmil::cli
