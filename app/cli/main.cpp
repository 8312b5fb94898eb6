// SPDX-License-Identifier: GPL-3.0-or-later
// icmil: the headless command line of ICMIL Studio. Argument parsing only; see commands.cpp.
#include "commands.h"
#include "errorboundary.h"

#include "engine/runtime/runtime.h"

#include <CLI/CLI.hpp>

#include <iostream>

#include <unistd.h>

namespace {

// Parses the command line and runs one command; main() puts the error boundary around it.
int runCli(int argc, char **argv)
{
    icmil::engine::preferPassiveOpenMpWait(argv);
    if (::isatty(STDOUT_FILENO) == 0)
        std::cout << std::unitbuf;      // a log file gets every line as it is printed (kill -9 keeps them)
    icmil::engine::configureThreads(0); // LibTorch starts with 1 intra-op thread on Debian

    CLI::App app{
        "ICMIL Studio command line: synthetic data, slide inspection, tiling, feature extraction, MIL training and prediction, the ICMIL loop"};
    app.require_subcommand(0, 1);
    bool showVersion = false;
    app.add_flag("--version", showVersion, "Print versions of ICMIL Studio and its libraries");

    icmil::cli::SynthOptions synth;
    CLI::App *synthCmd = app.add_subcommand("synth", "Generate a labelled synthetic whole-slide dataset");
    synthCmd->add_option("--out", synth.outputDir, "Output folder")->required();
    synthCmd->add_option("--slides", synth.slides, "Number of slides")->check(CLI::Range(1, 10000))->capture_default_str();
    synthCmd->add_option("--seed", synth.seed, "Random seed (same seed, same files)")->capture_default_str();
    synthCmd->add_option("--size", synth.size, "Level-0 size WIDTHxHEIGHT in pixels")->capture_default_str();
    synthCmd->add_option("--positive-fraction", synth.positiveFraction, "Fraction of tumour slides")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    synthCmd
        ->add_option("--preset", synth.preset,
                     "How hard: easy (the original look), camelyon (Camelyon16-like: micro-metastases, "
                     "lymphoid mimics, site stain variation) or hard")
        ->check(CLI::IsMember({"easy", "camelyon", "hard"}))
        ->capture_default_str();
    synthCmd->add_option("--threads", synth.threads, "Worker threads (0 = all cores)")->check(CLI::NonNegativeNumber);

    std::string infoPath;
    CLI::App *infoCmd = app.add_subcommand("info", "Print a slide's levels, resolution and properties");
    infoCmd->add_option("slide", infoPath, "Slide or image file")->required();

    std::string summaryPath;
    CLI::App *summaryCmd = app.add_subcommand("summary", "Check and summarise a dataset folder (labels.csv + slides)");
    summaryCmd->add_option("dataset", summaryPath, "Dataset folder")->required();

    // Stain normalisation, shared by extract and run.
    auto addStainOptions = [](CLI::App *cmd, icmil::cli::ExtractOptions &o) {
        cmd->add_option("--stain-norm", o.stainNorm, "Map each slide's stain to a reference before the embedder: none, macenko or reinhard")
            ->check(CLI::IsMember(icmil::engine::stainMethodNames(), CLI::ignore_case))
            ->capture_default_str();
        cmd->add_option("--stain-reference", o.stainReference,
                        "The reference stain: built-in (H&E), or SLIDE@X,Y,W,H, a level-0 rectangle of a slide")
            ->capture_default_str();
    };

    // torch.distributed: without these, torchrun's or srun's environment (README, "Several GPUs
    // and machines"); with neither, one process.
    auto addDistributedOptions = [](CLI::App *cmd, icmil::engine::DistributedOptions &o) {
        const std::string group = "torch.distributed";
        cmd->add_option("--dist-url", o.url, "Join a multi-process job: tcp://HOST:PORT of rank 0 (torchrun and srun need none)")
            ->group(group);
        cmd->add_option("--rank", o.rank, "This process's rank, 0 to world size - 1 (with --dist-url)")
            ->check(CLI::NonNegativeNumber)
            ->group(group);
        cmd->add_option("--world-size", o.worldSize, "How many processes the job has (with --dist-url)")
            ->check(CLI::PositiveNumber)
            ->group(group);
        cmd->add_option("--dist-backend", o.backend, "auto (NCCL on GPUs, Gloo on CPUs), gloo or nccl")
            ->check(CLI::IsMember({"auto", "gloo", "nccl"}))
            ->capture_default_str()
            ->group(group);
        cmd->add_option("--dist-timeout", o.timeoutSeconds, "Seconds a rank waits for the others before the job stops")
            ->check(CLI::PositiveNumber)
            ->capture_default_str()
            ->group(group);
    };

    // Options shared by tile and extract.
    auto addTileOptions = [](CLI::App *cmd, icmil::cli::TileOptions &o, bool slidesAndOut = true) {
        if (slidesAndOut) {
            cmd->add_option("--slides", o.slides, "A slide, a dataset folder (labels.csv) or a folder of slides")->required();
            cmd->add_option("--out", o.projectDir, "Project folder (patches/, tissue/, features/)")->required();
        }
        cmd->add_option("--magnification", o.magnification, "Target magnification of the patches (slides with mpp)")
            ->check(CLI::PositiveNumber)
            ->capture_default_str();
        cmd->add_option("--level", o.level, "Cut patches at this pyramid level instead of a magnification")->check(CLI::NonNegativeNumber);
        cmd->add_option("--patch-size", o.patchSize, "Patch edge in pixels")->check(CLI::Range(16, 4096))->capture_default_str();
        cmd->add_option("--overlap", o.overlap, "Fraction of a patch shared with its neighbours")
            ->check(CLI::Range(0.0, 0.95))
            ->capture_default_str();
        cmd->add_option("--min-tissue", o.minTissue, "Keep patches with at least this fraction of tissue")
            ->check(CLI::Range(0.0, 1.0))
            ->capture_default_str();
        cmd->add_option("--preset", o.preset, "Tissue detection preset (CLAM's)")->capture_default_str();
        cmd->add_flag("--otsu", o.otsu, "Otsu threshold instead of the fixed saturation threshold");
        cmd->add_option("--saturation-threshold", o.saturationThreshold,
                        "Tissue where the saturation is above this (default: the preset's)")
            ->check(CLI::Range(0, 254));
        cmd->add_option("--min-tissue-area", o.minTissueArea, "Smallest piece of tissue kept, in mm2 (default: the preset's)")
            ->check(CLI::NonNegativeNumber);
        cmd->add_option("--min-hole-area", o.minHoleArea, "Smallest hole kept in the tissue, in mm2 (default: the preset's)")
            ->check(CLI::NonNegativeNumber);
        cmd->add_option("--roi", o.roi, "Keep only patches inside annotations of these classes, e.g. Tumor (icmil annotations import)");
        cmd->add_option("--exclude", o.exclude, "Drop patches touching annotations of these classes, e.g. Pen,Fold");
        if (slidesAndOut)
            cmd->add_flag("--strict", o.strict, "Fail (exit 1) when a slide has no patches, instead of a warning");
    };

    icmil::cli::TileOptions tile;
    CLI::App *tileCmd = app.add_subcommand("tile", "Detect tissue and cut patch grids (CLAM-style), per slide");
    addTileOptions(tileCmd, tile);

    icmil::cli::ExtractOptions extract;
    CLI::App *extractCmd = app.add_subcommand("extract", "Extract patch features into HDF5 (resumable)");
    addTileOptions(extractCmd, extract.tile);
    extractCmd->add_option("--embedder", extract.embedder, "resnet50-trunc, tiny-cnn, or a TorchScript file with a JSON beside it")
        ->capture_default_str();
    extractCmd->add_option("--weights", extract.weights, "Weights for a built-in embedder (torch.save file)");
    extractCmd->add_option("--device", extract.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    extractCmd->add_option("--batch-size", extract.batchSize, "Patches per batch")->check(CLI::Range(1, 4096))->capture_default_str();
    extractCmd->add_option("--readers", extract.readers, "Patch reader threads (0 = all cores)")->check(CLI::NonNegativeNumber);
    extractCmd->add_flag("--half", extract.half, "Half precision on CUDA");
    extractCmd->add_flag("--overwrite", extract.overwrite, "Extract again slides that already have features");
    extractCmd->add_option("--seed", extract.seed, "Seed of a randomly initialised embedder")->capture_default_str();
    addStainOptions(extractCmd, extract);
    addDistributedOptions(extractCmd, extract.dist);

    icmil::cli::AnnotationImportOptions annotationImport;
    CLI::App *annotationsCmd = app.add_subcommand("annotations", "Pathologists' annotations (QuPath GeoJSON, ASAP XML) in a project");
    annotationsCmd->require_subcommand(1);
    CLI::App *annotationImportCmd = annotationsCmd->add_subcommand("import", "Import annotation files, matched to slides by file name");
    annotationImportCmd->add_option("--project", annotationImport.projectDir, "Project folder")->required();
    annotationImportCmd->add_option("--from", annotationImport.source, "A .geojson/.json (QuPath) or .xml (ASAP) file, or a folder of them")
        ->required();
    annotationImportCmd->add_option("--slides", annotationImport.slides, "The slides (default: the project's)");

    icmil::cli::ImportOptions import;
    CLI::App *importCmd = app.add_subcommand("import", "Import CLAM or TRIDENT feature files into a project");
    importCmd->add_option("--from", import.source, "CLAM h5_files/ (or its parent), TRIDENT features_<encoder>/ (or its parent)")
        ->required();
    importCmd->add_option("--out", import.projectDir, "Project folder")->required();
    importCmd->add_option("--encoder", import.encoder, "Name of these features in the project, e.g. uni_v1")->required();
    importCmd->add_flag("--overwrite", import.overwrite, "Replace features already in the project");

    std::string demoPath = "demo";
    // The bag classifier's options, shared by train and run.
    auto addClassifierOptions = [](CLI::App *cmd, icmil::cli::TrainOptions &t) {
        cmd->add_option("--model", t.model, "abmil, maxpool or dtfd")->capture_default_str();
        cmd->add_option("--epochs", t.epochs, "Epochs")->check(CLI::Range(1, 100000))->capture_default_str();
        cmd->add_option("--lr", t.lr, "Learning rate (default: the reference's, 2e-4; DTFD 1e-4)")->check(CLI::NonNegativeNumber);
        cmd->add_option("--weight-decay", t.weightDecay, "Adam weight decay")->check(CLI::NonNegativeNumber)->capture_default_str();
        cmd->add_option("--clip", t.clip, "Gradient norm clipping per submodule (0 = off)")->capture_default_str();
        cmd->add_option("--lr-decay", t.lrDecay, "Learning-rate factor at each milestone")->capture_default_str();
        cmd->add_option("--milestones", t.milestones, "Epochs where the learning rate decays, e.g. 100,150 (default: DTFD at half)");
        cmd->add_flag("--no-schedule", t.noSchedule, "Constant learning rate");
        cmd->add_option("--patience", t.patience, "Stop after this many epochs without a better validation AUC (0 = off)")
            ->check(CLI::NonNegativeNumber);
        cmd->add_option("--val-fraction", t.valFraction, "Validation fraction when the labels have no split column")->capture_default_str();
        cmd->add_option("--test-fraction", t.testFraction, "Test fraction when the labels have no split column")->capture_default_str();
        cmd->add_option("--folds", t.folds, "k-fold cross-validation: number of folds")->check(CLI::Range(1, 100))->capture_default_str();
        cmd->add_option("--fold", t.fold, "k-fold cross-validation: this fold (0-based)")->check(CLI::NonNegativeNumber);
        cmd->add_flag("--ignore-csv-split", t.ignoreCsvSplit, "Draw a split even when the labels have a split column");
        cmd->add_option("--classes", t.classes, "Class order, e.g. normal,tumor (default: the labels, sorted)");
        cmd->add_option("--pseudo-bags", t.pseudoBags, "DTFD: pseudo-bags per slide")->check(CLI::Range(1, 1000))->capture_default_str();
        cmd->add_option("--distill", t.distill, "DTFD: AFS, MaxS or MaxMinS")->capture_default_str();
        cmd->add_option("--embed-dim", t.embedDim, "Width after dimension reduction")->check(CLI::Range(1, 65536))->capture_default_str();
        cmd->add_option("--attention-dim", t.attentionDim, "Hidden width of the gated attention")
            ->check(CLI::Range(1, 65536))
            ->capture_default_str();
        cmd->add_option("--dropout", t.dropout, "Dropout before the classifier")->check(CLI::Range(0.0, 0.99));
    };

    icmil::cli::TrainOptions train;
    CLI::App *trainCmd = app.add_subcommand("train", "Train a MIL bag classifier (ABMIL, MaxPool, DTFD-MIL) on a project's features");
    trainCmd->add_option("--project", train.projectDir, "Project folder (features/, runs/)")->required();
    trainCmd->add_option("--labels", train.labels, "Labels CSV case_id,slide_id,label[,split] (default: PROJECT/labels.csv)");
    trainCmd->add_option("--encoder", train.encoder, "Feature folder under PROJECT/features (default: the only one)");
    trainCmd->add_option("--run", train.run, "Run name: PROJECT/runs/RUN (default: the model's name)");
    trainCmd->add_option("--seed", train.seed, "Seed of the split, the initial weights and the shuffles")->capture_default_str();
    trainCmd->add_option("--device", train.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    addClassifierOptions(trainCmd, train);
    trainCmd->add_option("--init", train.init, "Start from this checkpoint (ours or an ICMIL reference .pth)");
    trainCmd->add_option("--init-type", train.initType, "Model type of a reference --init checkpoint (default: from its keys)");
    trainCmd->add_flag("--overwrite", train.overwrite, "Replace an existing run of the same name");
    trainCmd->add_flag("--strict", train.strict, "Fail when a slide's features have no patches, instead of leaving it out");

    icmil::cli::RunOptions run;
    CLI::App *runCmd
        = app.add_subcommand("run", "Run the ICMIL loop: extract, train, then fine-tune the embedder, re-extract, retrain (resumable)");
    runCmd->add_option("--project", run.extract.tile.projectDir, "Project folder (features/, runs/, icmil/)")->required();
    runCmd->add_option("--slides", run.extract.tile.slides,
                       "Slide files: a dataset folder with labels.csv or slides/ (default: the project)");
    runCmd->add_option("--labels", run.train.labels, "Labels CSV case_id,slide_id,label[,split] (default: SLIDES/labels.csv)");
    runCmd->add_option("--name", run.name, "Loop name: PROJECT/icmil/NAME, features/NAME-itK, runs/NAME-itK")->capture_default_str();
    runCmd->add_option("--iterations", run.iterations, "Fine-tuning rounds K (iterations 0..K)")
        ->check(CLI::Range(0, 100))
        ->capture_default_str();
    runCmd->add_option("--embedder", run.extract.embedder, "Initial embedder: resnet50-trunc, tiny-cnn, or a TorchScript file")
        ->capture_default_str();
    runCmd->add_option("--weights", run.extract.weights, "Weights for a built-in embedder (torch.save file)");
    runCmd->add_option("--embedder-seed", run.extract.seed, "Seed of a randomly initialised embedder")->capture_default_str();
    runCmd->add_option("--batch-size", run.extract.batchSize, "Extraction: patches per batch")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    runCmd->add_option("--readers", run.extract.readers, "Patch reader threads (0 = all cores)")->check(CLI::NonNegativeNumber);
    runCmd->add_flag("--half", run.extract.half, "Mixed precision on CUDA (float16 extraction, bfloat16 fine-tuning)");
    runCmd->add_option("--finetune-epochs", run.finetuneEpochs, "Fine-tuning epochs per iteration")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    runCmd->add_option("--finetune-patches", run.finetunePatches, "Patches per fine-tuning epoch, drawn from the training slides")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
        ->capture_default_str();
    runCmd->add_option("--finetune-batch", run.finetuneBatch, "Patches per fine-tuning step")
        ->check(CLI::Range(1, 65536))
        ->capture_default_str();
    runCmd->add_option("--finetune-lr", run.finetuneLr, "Fine-tuning learning rate")->check(CLI::PositiveNumber)->capture_default_str();
    runCmd->add_option("--finetune-weight-decay", run.finetuneWeightDecay, "Fine-tuning Adam weight decay")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    runCmd->add_option("--finetune-clip", run.finetuneClip, "Gradient clipping of the student head (0 = off)")->capture_default_str();
    runCmd->add_option("--finetune-val-fraction", run.finetuneValFraction, "Training patches held out to pick the best student")
        ->check(CLI::Range(0.001, 0.9))
        ->capture_default_str();
    runCmd->add_option("--finetune-val-max", run.finetuneValMax, "At most this many held-out patches")
        ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40))
        ->capture_default_str();
    runCmd->add_flag("--confidence", run.confidence,
                     "Confidence-based fine-tuning: weigh patches by |2a-1|^beta of the teacher's attention");
    runCmd->add_option("--beta", run.beta, "Confidence exponent (default: the reference's, ABMIL 6, DTFD 2)")
        ->check(CLI::NonNegativeNumber);
    runCmd->add_flag("--finetune-bn-train", run.batchNormTraining,
                     "Train the student's batch-norm statistics as the reference does (default: frozen; see the README)");
    runCmd
        ->add_option("--teacher-temperature", run.teacherTemperature,
                     "Fine-tuning: divide the teacher's instance logits by this (1 = the reference's soft targets, < 1 sharpens them)")
        ->check(CLI::PositiveNumber)
        ->capture_default_str();
    runCmd->add_option("--negative-class", run.negativeClass,
                       "Fine-tuning: every patch of a training slide with this label (normal tissue, a negative bag) is taught this "
                       "class instead of the teacher's prediction (default: off, the reference's)");
    addStainOptions(runCmd, run.extract);
    addDistributedOptions(runCmd, run.extract.dist);
    runCmd
        ->add_option("--stain-jitter", run.stainJitter,
                     "Fine-tuning: HED stain augmentation of the student's view, each stain scaled by 1 +- this and shifted by +- this "
                     "optical density (0 = off; 0.05 light, 0.2 strong)")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    runCmd
        ->add_option("--calibration-patches", run.calibrationPatches,
                     "A randomly initialised built-in embedder first estimates its batch-norm statistics on this many tissue patches "
                     "of all slides (0 = off)")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    runCmd->add_option("--device", run.train.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    runCmd->add_option("--seed", run.train.seed, "Seed of the split, the classifier, the patch sampling and the augmentations")
        ->capture_default_str();
    addTileOptions(runCmd, run.extract.tile, false);
    addClassifierOptions(runCmd, run.train);
    runCmd->add_flag("--overwrite", run.train.overwrite, "Start the loop again, deleting its earlier outputs");
    runCmd->add_flag(
        "--strict", run.strict,
        "Stop at a slide that cannot be used (no file, unreadable, extraction failed, no tissue) instead of leaving it out with a warning");
    runCmd->get_option("--folds")->description("k-fold cross-validation: number of folds; without --fold the loop runs on every fold "
                                               "(loops NAME-fold0..) and reports mean ± sd per iteration");
    CLI::Option *runFold = runCmd->get_option("--fold");
    runFold->description("k-fold cross-validation: run the loop on this fold only (0-based)");

    icmil::cli::PredictOptions predict;
    CLI::App *predictCmd = app.add_subcommand(
        "predict", "Slide probabilities and attention: from a checkpoint on a project's features, or in one step from a model bundle");
    predictCmd->add_option("--project", predict.projectDir, "Project folder");
    predictCmd->add_option("--checkpoint", predict.checkpoint, "Our checkpoint.pth or an ICMIL reference .pth");
    predictCmd->add_option("--model-type", predict.modelType, "abmil, maxpool or dtfd for a reference checkpoint (default: from its keys)");
    predictCmd->add_option("--encoder", predict.encoder, "Feature folder (default: the only one)");
    predictCmd->add_option("--run", predict.run, "Name of the output run (default: the checkpoint's)");
    predictCmd->add_option("--labels", predict.labels, "Labels CSV for the table and metrics (default: PROJECT/labels.csv when present)");
    predictCmd->add_option("--classes", predict.classes, "Class names of a reference checkpoint, e.g. normal,tumor");
    predictCmd->add_option("--slides", predict.slides,
                           "Only these slide ids, comma-separated; with --model: a slide file, a folder of slides or a list file "
                           "(.txt, one path per line)");
    predictCmd->add_option("--device", predict.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    predictCmd->add_option("--model", predict.model,
                           "A model bundle (icmil export-model): tissue, patches, features, prediction and attention for every slide");
    predictCmd->add_option("--out", predict.out, "With --model: the output folder (a project; a rerun goes on where it stopped)");
    predictCmd->add_flag("--heatmaps", predict.heatmaps, "With --model: a whole-slide attention heatmap PNG per slide (OUT/heatmaps)");
    predictCmd->add_option("--heatmap-downsample", predict.heatmapDownsample, "With --heatmaps: level-0 pixels per heatmap pixel")
        ->check(CLI::Range(1.0, 4096.0))
        ->capture_default_str();
    predictCmd->add_option("--batch-size", predict.batchSize, "With --model: patches per batch")
        ->check(CLI::Range(1, 4096))
        ->capture_default_str();
    predictCmd->add_option("--readers", predict.readers, "With --model: patch reader threads (0 = all cores)")
        ->check(CLI::NonNegativeNumber);
    predictCmd->add_flag("--half", predict.half, "With --model: float16 extraction on CUDA");
    addDistributedOptions(predictCmd, predict.dist); // with --model

    icmil::cli::ExportModelOptions exportModel;
    CLI::App *exportModelCmd
        = app.add_subcommand("export-model", "Write a trained model (embedder, classifier, preprocessing, provenance) as one bundle file");
    exportModelCmd->add_option("--project", exportModel.projectDir, "Project folder")->required();
    exportModelCmd->add_option("--run", exportModel.run, "A classifier run (PROJECT/runs/RUN; a loop's run brings its loop's embedder)");
    exportModelCmd->add_option("--loop", exportModel.loop, "An ICMIL loop (PROJECT/icmil/LOOP)");
    exportModelCmd->add_option("--iteration", exportModel.iteration, "The loop's iteration (default: its last trained)")
        ->check(CLI::NonNegativeNumber);
    exportModelCmd->add_option("--embedder", exportModel.embedder,
                               "A run outside a loop: the embedder that made its features (default: their encoder, if built in)");
    exportModelCmd->add_option("--weights", exportModel.weights, "... and its weights (torch.save file)");
    exportModelCmd->add_option("--embedder-seed", exportModel.seed, "... or the seed of a randomly initialised one")->capture_default_str();
    exportModelCmd->add_option("--slides", exportModel.slides, "The project's slides, to check the embedder (default: the project's)");
    exportModelCmd->add_option("--out", exportModel.out, "The bundle to write, e.g. model.icmil")->required();

    icmil::cli::ExportOptions exportOptions;
    CLI::App *exportCmd = app.add_subcommand("export", "Write a run's predictions as CSV (ours and CLAM's layout)");
    exportCmd->add_option("--project", exportOptions.projectDir, "Project folder")->required();
    exportCmd->add_option("--run", exportOptions.run, "Run name (PROJECT/runs/RUN)")->required();
    exportCmd->add_option("--out", exportOptions.out, "slide_id,case_id,label,split,p_0..,predicted,patches,above_threshold");
    exportCmd->add_option("--clam", exportOptions.clam, "CLAM's layout: slide_id,Y,Y_hat,p_0..");
    exportCmd->add_option("--split", exportOptions.split, "Only this split: train, val or test");
    exportCmd->add_option("--regions", exportOptions.regions,
                          "Folder for each slide's most attended regions as QuPath annotations (<slide>_attention_regions.geojson)");
    exportCmd
        ->add_option(
            "--region-threshold", exportOptions.regionThreshold,
            "Attention percentile rank a patch needs to be in a region (0.9: the top 10%); with --map instance, its instance score")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    exportCmd
        ->add_option(
            "--map", exportOptions.regionMap,
            "What --regions outlines: attention, or instance (the instance view: each patch's probability of the last class; files "
            "<slide>_instance_regions.geojson)")
        ->check(CLI::IsMember({"attention", "instance"}))
        ->capture_default_str();

    icmil::cli::HeatmapOptions heatmap;
    CLI::App *heatmapCmd = app.add_subcommand("heatmap", "Write a run's whole-slide attention heatmaps as PNG and/or pyramidal TIFF");
    heatmapCmd->add_option("--project", heatmap.projectDir, "Project folder")->required();
    heatmapCmd->add_option("--run", heatmap.run, "Run name (PROJECT/runs/RUN)")->required();
    heatmapCmd->add_option("--slides", heatmap.slides, "Only these slide ids, comma-separated (default: every slide with attention)");
    heatmapCmd->add_option("--slides-dir", heatmap.slidesDir, "Where the slide files are (default: the project's slides)");
    heatmapCmd->add_option("--out", heatmap.out, "Output folder: <slide>_heatmap.png/.tif and <slide>_legend.png")->required();
    heatmapCmd->add_option("--downsample", heatmap.downsample, "Level-0 pixels per heatmap pixel")
        ->check(CLI::Range(1.0, 65536.0))
        ->capture_default_str();
    heatmapCmd->add_flag("--overlay", heatmap.overlay, "Blend the heatmap over the slide image (default: the heatmap alone)");
    heatmapCmd->add_option("--opacity", heatmap.opacity, "Opacity of the heatmap over the slide")
        ->check(CLI::Range(0.0, 1.0))
        ->capture_default_str();
    heatmapCmd->add_flag("--white", heatmap.white, "Without --overlay: the PNG over white instead of transparent");
    heatmapCmd->add_option("--colormap", heatmap.colormap, "viridis, turbo, jet or coolwarm")
        ->check(CLI::IsMember({"viridis", "turbo", "jet", "coolwarm"}, CLI::ignore_case))
        ->capture_default_str();
    heatmapCmd->add_option("--map", heatmap.map, "attention, or instance: the instance view's probability of --class per patch")
        ->check(CLI::IsMember({"attention", "instance"}, CLI::ignore_case))
        ->capture_default_str();
    heatmapCmd->add_option("--class", heatmap.className, "With --map instance: the class (default: the last)");
    heatmapCmd
        ->add_option("--normalisation", heatmap.normalisation,
                     "How scores become colours: percentile-rank, min-max or probability (as they are) (default: attention by "
                     "percentile rank as the app, instance as probability)")
        ->check(CLI::IsMember({"percentile-rank", "min-max", "probability"}, CLI::ignore_case));
    heatmapCmd->add_option("--format", heatmap.format, "png, tiff (tiled pyramidal, for QuPath, ASAP, OpenSlide) or both")
        ->check(CLI::IsMember({"png", "tiff", "both"}, CLI::ignore_case))
        ->capture_default_str();

    CLI::App *demoCmd = app.add_subcommand("demo", "Generate the demo dataset and run the ICMIL loop on it (CPU: a few minutes)");
    demoCmd->add_option("--out", demoPath, "Output folder")->capture_default_str();
    bool demoNoGui = false;
    demoCmd->add_flag("--no-gui", demoNoGui, "Do not open the app afterwards (it opens when a display is present)");

    CLI11_PARSE(app, argc, argv);

    if (showVersion) {
        std::cout << icmil::cli::versionText();
        return 0;
    }
    if (*synthCmd)
        return icmil::cli::runSynth(synth);
    if (*infoCmd)
        return icmil::cli::runInfo(infoPath);
    if (*summaryCmd)
        return icmil::cli::runSummary(summaryPath);
    if (*tileCmd)
        return icmil::cli::runTile(tile);
    if (*extractCmd)
        return icmil::cli::runExtract(extract);
    if (*importCmd)
        return icmil::cli::runImport(import);
    if (*annotationImportCmd)
        return icmil::cli::runAnnotationImport(annotationImport);
    if (*trainCmd)
        return icmil::cli::runTrain(train);
    if (*runCmd) {
        if (run.extract.tile.slides.empty())
            run.extract.tile.slides = run.extract.tile.projectDir;
        run.allFolds = run.train.folds >= 2 && runFold->count() == 0;
        return icmil::cli::runLoop(run);
    }
    if (*predictCmd)
        return icmil::cli::runPredict(predict);
    if (*exportModelCmd)
        return icmil::cli::runExportModel(exportModel);
    if (*exportCmd)
        return icmil::cli::runExport(exportOptions);
    if (*heatmapCmd)
        return icmil::cli::runHeatmap(heatmap);
    if (*demoCmd)
        return icmil::cli::runDemo(demoPath, !demoNoGui);
    std::cout << app.help();
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    return icmil::cli::runWithErrorBoundary([&] { return runCli(argc, argv); }, std::cerr);
}
