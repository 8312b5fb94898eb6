// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/distributed/distributedsettings.h"
#include "engine/mil/milmodel.h"
#include "project/features/featureextractor.h"
#include "project/loop/icmilloop.h"
#include "project/loop/loopdefaults.h"
#include "project/training/miltraining.h"
#include "project/training/predictiontable.h"
#include "project/features/slidetiler.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

// The CLI's commands: each prints for a terminal and returns the process exit code.
// Parsing lives in main.cpp; the work itself lives in core/. The options' defaults are the ICMIL
// loop's (project::loopDefaults()), so that `icmil run`, `icmil tile`/`extract`/`train` and the
// app's training panel start from the same settings.
namespace icmil::cli {

struct SynthOptions {
    std::filesystem::path outputDir;
    int slides = 8;
    std::uint64_t seed = 1;
    std::string size = "20000x16000";
    double positiveFraction = 0.5;
    std::string preset = "easy"; // slide/synthetic/syntheticpreset.h
    int threads = 0;
};

// Where patches come from (`icmil tile`, and `icmil extract` when a slide has no patch file yet).
struct TileOptions {
    std::filesystem::path slides;     // a slide, a dataset folder (labels.csv) or a folder of slides
    std::filesystem::path projectDir; // outputs: patches/, tissue/, features/
    double magnification = project::loopDefaults().extraction.tiling.grid.targetMagnification.value_or(
        0.0);       // target magnification (slides with mpp or objective power)
    int level = -1; // >= 0: patches at this pyramid level instead
    int patchSize = project::loopDefaults().extraction.tiling.grid.patchSize;
    double overlap = project::loopDefaults().extraction.tiling.grid.overlap;
    double minTissue = project::loopDefaults().extraction.tiling.grid.minTissueFraction; // fraction of a patch that must be tissue
    std::string preset = project::loopDefaults().extraction.tiling.tissue.presetName;    // tissue detection preset (CLAM's)
    bool otsu = false;
    std::string roi;              // comma-separated annotation classes: keep patches inside them
    std::string exclude;          // comma-separated annotation classes: drop patches touching them
    double minTissueArea = -1.0;  // mm2; < 0: the preset's
    double minHoleArea = -1.0;    // mm2; < 0: the preset's
    int saturationThreshold = -1; // < 0: the preset's
    bool strict = false;          // tile, extract: a slide without patches fails the command
};

struct ExtractOptions {
    TileOptions tile;
    std::string embedder = project::loopDefaults().embedder.name; // built-in name or TorchScript file
    std::filesystem::path weights;
    std::string device = project::loopDefaults().device;
    int batchSize = project::loopDefaults().extraction.batchSize;
    int readers = project::loopDefaults().extraction.readerThreads;
    bool half = project::loopDefaults().extraction.halfPrecision;
    bool overwrite = false;
    std::uint64_t seed = project::loopDefaults().embedder.seed;
    std::string stainNorm = engine::stainMethodName(project::loopDefaults().extraction.stain.method); // none, macenko, reinhard
    std::string stainReference = "built-in";                                                          // or SLIDE@X,Y,W,H
    engine::DistributedOptions dist; // torch.distributed: --dist-url, --rank, --world-size (else torchrun's / srun's)
};

// Feature files made elsewhere (CLAM's h5_files/, TRIDENT's features_<encoder>/).
struct ImportOptions {
    std::filesystem::path source;
    std::filesystem::path projectDir;
    std::string encoder; // the project's name for these features (its folder)
    bool overwrite = false;
};

// `icmil train`: a bag classifier on a project's features (step 1 of ICMIL).
struct TrainOptions {
    std::filesystem::path projectDir;
    std::filesystem::path labels; // default: <project>/labels.csv
    std::string encoder;          // default: the project's only feature folder
    std::string model = engine::milModelTypeName(project::loopDefaults().model.type);
    std::string run; // default: the model's name
    int epochs = project::loopDefaults().trainer.epochs;
    double lr = project::loopDefaults().trainer.learningRate; // 0: the reference's for the model
    double weightDecay = project::loopDefaults().trainer.weightDecay;
    double clip = project::loopDefaults().trainer.gradientClip;
    double lrDecay = project::loopDefaults().trainer.lrDecay;
    std::string milestones; // "100,150"; empty: the reference's schedule
    bool noSchedule = project::loopDefaults().trainer.noSchedule;
    std::uint64_t seed = project::loopDefaults().trainer.seed;
    std::string device = project::loopDefaults().device;
    int patience = project::loopDefaults().trainer.earlyStoppingPatience;
    double valFraction = project::loopDefaults().split.valFraction;
    double testFraction = project::loopDefaults().split.testFraction;
    int folds = project::loopDefaults().split.folds;
    int fold = project::loopDefaults().split.fold;
    bool ignoreCsvSplit = !project::loopDefaults().split.useCsvSplit;
    std::string classes; // "normal,tumor"; default: the labels, sorted
    std::filesystem::path init;
    std::string initType;
    int pseudoBags = project::loopDefaults().model.pseudoBags;
    std::string distill = engine::dtfdDistillationName(project::loopDefaults().model.distillation);
    int embedDim = project::loopDefaults().model.embedDim;
    int attentionDim = project::loopDefaults().model.attentionDim;
    double dropout = project::loopDefaults().model.dropout;
    bool overwrite = false;
    bool strict = false; // a slide whose features have no patches fails instead of being left out
};

// `icmil predict`: slide probabilities and attention from a checkpoint (ours or the reference's).
struct PredictOptions {
    std::filesystem::path projectDir;
    std::filesystem::path checkpoint;
    std::string modelType; // for a reference checkpoint; default: from its keys
    std::string encoder;
    std::string run;
    std::filesystem::path labels; // default: <project>/labels.csv when present
    std::string classes;
    std::string slides; // "s1,s2"; default: every slide with features. With `model`: FILE|DIR|LIST
    std::string device = "auto";
    // One step with a model bundle (icmil export-model): slides in, predictions out.
    std::filesystem::path model;
    std::filesystem::path out; // becomes a project
    bool heatmaps = false;
    double heatmapDownsample = 32.0;
    int batchSize = project::loopDefaults().extraction.batchSize;
    int readers = project::loopDefaults().extraction.readerThreads;
    bool half = false;
    engine::DistributedOptions dist; // with `model`: torch.distributed, each rank a share of the slides
};

// `icmil export-model`: a run's or an ICMIL loop iteration's model as one bundle file.
struct ExportModelOptions {
    std::filesystem::path projectDir;
    std::string run;
    std::string loop;
    int iteration = -1;   // < 0: the loop's last trained iteration
    std::string embedder; // a run outside a loop: the embedder that made its features
    std::filesystem::path weights;
    std::uint64_t seed = project::loopDefaults().embedder.seed;
    std::filesystem::path slides; // the project's slides, for the check
    std::filesystem::path out;
};

// `icmil export`: a run's predictions as CSV (ours and CLAM's layout).
struct ExportOptions {
    std::filesystem::path projectDir;
    std::string run;
    std::filesystem::path out;           // predictions.csv layout
    std::filesystem::path clam;          // CLAM's fold_<k>.csv layout
    std::string split;                   // only this split ("train", "val", "test")
    std::filesystem::path regions;       // a folder: each slide's most attended regions as QuPath annotations
    double regionThreshold = 0.9;        // attention percentile rank (instance map: probability) of the patches in those regions
    std::string regionMap = "attention"; // what the regions outline: "attention" or "instance" (the instance view)
};

// `icmil heatmap`: a run's whole-slide heatmaps to take away (PNG, pyramidal TIFF), one per slide
// with an attention map (project/export/runheatmapexport.h).
struct HeatmapOptions {
    std::filesystem::path projectDir;
    std::string run;
    std::string slides;              // "s1,s2"; default: every slide of the run with an attention map
    std::filesystem::path slidesDir; // default: the project's slides (icmil-project.json)
    std::filesystem::path out;
    double downsample = 16.0; // level-0 pixels per heatmap pixel
    bool overlay = false;     // over the slide image, else the cells alone
    double opacity = 0.5;     // of the cells over the slide
    bool white = false;       // alone: the PNG over white instead of transparent
    std::string colormap = "viridis";
    std::string map = "attention"; // or instance: a class's probability per patch (the instance view)
    std::string className;         // instance: the class; default: the last
    std::string normalisation;     // percentile-rank, min-max or probability; default: attention by rank, instance as probability
    std::string format = "png";    // png, tiff or both
};

// `icmil run`: the ICMIL loop (iterations of fine-tune embedder, re-extract, retrain classifier).
struct RunOptions {
    ExtractOptions extract; // extract.tile.slides: slide files (default: the project); extract.tile.projectDir: the project
    TrainOptions train;     // the bag classifier, retrained every iteration
    std::string name = project::loopDefaults().name;
    int iterations = project::loopDefaults().iterations; // fine-tuning rounds: iterations 0..K
    int finetuneEpochs = project::loopDefaults().fineTuning.epochs;
    std::int64_t finetunePatches = project::loopDefaults().fineTuning.patchesPerEpoch;
    int finetuneBatch = project::loopDefaults().fineTuning.batchSize;
    double finetuneLr = project::loopDefaults().fineTuning.distillation.learningRate;
    double finetuneWeightDecay = project::loopDefaults().fineTuning.distillation.weightDecay;
    double finetuneClip = project::loopDefaults().fineTuning.distillation.gradientClip;
    double finetuneValFraction = project::loopDefaults().fineTuning.validationFraction;
    std::int64_t finetuneValMax = project::loopDefaults().fineTuning.maxValidationPatches;
    bool confidence = project::loopDefaults().fineTuning.distillation.confidenceWeighted;
    double beta = project::loopDefaults().fineTuning.distillation.confidenceBeta; // 0: the reference's (ABMIL 6, DTFD 2)
    bool batchNormTraining
        = !project::loopDefaults().fineTuning.distillation.freezeBatchNorm; // the reference's train-mode batch norm in the student
    double teacherTemperature = project::loopDefaults().fineTuning.distillation.teacherTemperature;
    std::string negativeClass = project::loopDefaults().negativeClass; // empty: the teacher's targets everywhere
    double stainJitter = project::loopDefaults().fineTuning.distillation.augmentation.stainJitter; // HED jitter strength, 0: off
    std::int64_t calibrationPatches = project::loopDefaults().calibrationPatches;
    bool strict = project::loopDefaults().strict; // stop at an unusable slide instead of leaving it out
    bool allFolds = false;                        // train.folds >= 2 and no --fold: the loop on every fold, then mean ± sd
};

// Shared by the commands that tile and train (and the ICMIL loop).
project::TilingConfig tilingConfig(const TileOptions &options);
project::ExtractionConfig extractionConfig(const ExtractOptions &options);
project::MilTrainingConfig milTrainingConfig(const TrainOptions &options, const std::filesystem::path &labels, const std::string &encoder);

std::string versionText();
int runTrain(const TrainOptions &options);
// `adjust` changes the loop's settings after the options made them (the demo writes its recipe).
int runLoop(const RunOptions &options, const std::function<void(project::IcmilLoopConfig &)> &adjust = {});
project::IcmilLoopConfig loopConfig(const RunOptions &options);
int runPredict(const PredictOptions &options);
int runPredictModel(const PredictOptions &options);
int runExportModel(const ExportModelOptions &options);
// The predictions as a table on stdout, and the metrics of the labelled rows.
void printPredictionTable(const project::PredictionTable &table);
int runExport(const ExportOptions &options);
int runHeatmap(const HeatmapOptions &options);
int runTile(const TileOptions &options);
int runExtract(const ExtractOptions &options);
int runImport(const ImportOptions &options);

// `icmil annotations import`: QuPath GeoJSON / ASAP XML annotations into a project.
struct AnnotationImportOptions {
    std::filesystem::path projectDir;
    std::filesystem::path source; // a file or a folder of files
    std::filesystem::path slides; // default: the project's slides (icmil-project.json, else the project)
};
int runAnnotationImport(const AnnotationImportOptions &options);
int runSynth(const SynthOptions &options);
int runInfo(const std::filesystem::path &slidePath);
int runSummary(const std::filesystem::path &datasetDir);
// Generates the demo dataset, runs the ICMIL loop on it and, with openApp and a display, starts
// icmil-studio on it.
int runDemo(const std::filesystem::path &outputDir, bool openApp = true);

} // namespace icmil::cli
