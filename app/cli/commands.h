#pragma once

#include "project/features/featureextractor.h"
#include "project/loop/icmilloop.h"
#include "project/training/miltraining.h"
#include "project/features/slidetiler.h"

#include <cstdint>
#include <filesystem>
#include <string>

// The CLI's commands: each prints for a terminal and returns the process exit code.
// Parsing lives in main.cpp; the work itself lives in core/.
namespace icmil::cli {

struct SynthOptions {
    std::filesystem::path outputDir;
    int slides = 8;
    std::uint64_t seed = 1;
    std::string size = "20000x16000";
    double positiveFraction = 0.5;
    std::string preset = "easy";      // slide/synthetic/syntheticpreset.h
    int threads = 0;
};

// Where patches come from (`icmil tile`, and `icmil extract` when a slide has no patch file yet).
struct TileOptions {
    std::filesystem::path slides;      // a slide, a dataset folder (labels.csv) or a folder of slides
    std::filesystem::path projectDir;  // outputs: patches/, tissue/, features/
    double magnification = 20.0;       // target magnification (slides with mpp or objective power)
    int level = -1;                    // >= 0: patches at this pyramid level instead
    int patchSize = 256;
    double overlap = 0.0;
    double minTissue = 0.25;           // fraction of a patch that must be tissue
    std::string preset = "default";    // tissue detection preset (CLAM's)
    bool otsu = false;
};

struct ExtractOptions {
    TileOptions tile;
    std::string embedder = "tiny-cnn"; // built-in name or TorchScript file
    std::filesystem::path weights;
    std::string device = "auto";
    int batchSize = 64;
    int readers = 0;
    bool half = false;
    bool overwrite = false;
    std::uint64_t seed = 0;
};

// Feature files made elsewhere (CLAM's h5_files/, TRIDENT's features_<encoder>/).
struct ImportOptions {
    std::filesystem::path source;
    std::filesystem::path projectDir;
    std::string encoder;               // the project's name for these features (its folder)
    bool overwrite = false;
};

// `icmil train`: a bag classifier on a project's features (step 1 of ICMIL).
struct TrainOptions {
    std::filesystem::path projectDir;
    std::filesystem::path labels;      // default: <project>/labels.csv
    std::string encoder;               // default: the project's only feature folder
    std::string model = "abmil";
    std::string run;                   // default: the model's name
    int epochs = 200;
    double lr = 0.0;                   // 0: the reference's for the model
    double weightDecay = 1e-4;
    double clip = 5.0;
    double lrDecay = 0.2;
    std::string milestones;            // "100,150"; empty: the reference's schedule
    bool noSchedule = false;
    std::uint64_t seed = 1;
    std::string device = "auto";
    int patience = 0;
    double valFraction = 0.1;
    double testFraction = 0.1;
    int folds = 1;
    int fold = 0;
    bool ignoreCsvSplit = false;
    std::string classes;               // "normal,tumor"; default: the labels, sorted
    std::filesystem::path init;
    std::string initType;
    int pseudoBags = 5;
    std::string distill = "AFS";
    int embedDim = 512;
    int attentionDim = 128;
    double dropout = 0.0;
    bool overwrite = false;
};

// `icmil predict`: slide probabilities and attention from a checkpoint (ours or the reference's).
struct PredictOptions {
    std::filesystem::path projectDir;
    std::filesystem::path checkpoint;
    std::string modelType;             // for a reference checkpoint; default: from its keys
    std::string encoder;
    std::string run;
    std::filesystem::path labels;      // default: <project>/labels.csv when present
    std::string classes;
    std::string slides;                // "s1,s2"; default: every slide with features
    std::string device = "auto";
};

// `icmil export`: a run's predictions as CSV (ours and CLAM's layout).
struct ExportOptions {
    std::filesystem::path projectDir;
    std::string run;
    std::filesystem::path out;         // predictions.csv layout
    std::filesystem::path clam;        // CLAM's fold_<k>.csv layout
    std::string split;                 // only this split ("train", "val", "test")
};

// `icmil run`: the ICMIL loop (iterations of fine-tune embedder, re-extract, retrain classifier).
struct RunOptions {
    ExtractOptions extract;            // extract.tile.slides: slide files (default: the project); extract.tile.projectDir: the project
    TrainOptions train;                // the bag classifier, retrained every iteration
    std::string name = "icmil";
    int iterations = 2;                // fine-tuning rounds: iterations 0..K
    int finetuneEpochs = 5;
    std::int64_t finetunePatches = 10000;
    int finetuneBatch = 100;
    double finetuneLr = 1e-5;
    double finetuneWeightDecay = 1e-4;
    double finetuneClip = 5.0;
    double finetuneValFraction = 0.1;
    std::int64_t finetuneValMax = 2000;
    bool confidence = false;
    double beta = 0.0;                 // 0: the reference's (ABMIL 6, DTFD 2)
    bool batchNormTraining = false;    // the reference's train-mode batch norm in the student
    double teacherTemperature = engine::DistillationConfig{}.teacherTemperature;
    std::int64_t calibrationPatches = project::IcmilLoopConfig{}.calibrationPatches;
    bool strict = false;               // stop at an unusable slide instead of leaving it out
    bool allFolds = false;             // train.folds >= 2 and no --fold: the loop on every fold, then mean ± sd
};

// Shared by the commands that tile and train (and the ICMIL loop).
project::TilingConfig tilingConfig(const TileOptions &options);
project::ExtractionConfig extractionConfig(const ExtractOptions &options);
project::MilTrainingConfig milTrainingConfig(const TrainOptions &options, const std::filesystem::path &labels, const std::string &encoder);

std::string versionText();
int runTrain(const TrainOptions &options);
int runLoop(const RunOptions &options);
project::IcmilLoopConfig loopConfig(const RunOptions &options);
int runPredict(const PredictOptions &options);
int runExport(const ExportOptions &options);
int runTile(const TileOptions &options);
int runExtract(const ExtractOptions &options);
int runImport(const ImportOptions &options);
int runSynth(const SynthOptions &options);
int runInfo(const std::filesystem::path &slidePath);
int runSummary(const std::filesystem::path &datasetDir);
// Generates the demo dataset, runs the ICMIL loop on it and, with openApp and a display, starts
// icmil-studio on it.
int runDemo(const std::filesystem::path &outputDir, bool openApp = true);

} // namespace icmil::cli
