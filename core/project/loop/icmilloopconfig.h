// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The ICMIL loop's settings, events and result (icmilloop.h runs the loop): plain values, no
// LibTorch, so that the app holds them, saves them and reads them back without loading it
// (docs/ARCHITECTURE.md, "LibTorch on demand").

#include "engine/embedders/embedderconfig.h"
#include "engine/mil/bagtrainerconfig.h"
#include "engine/mil/milconfig.h"
#include "project/dataset/datasetsplit.h"
#include "project/features/extractionconfig.h"
#include "project/loop/finetuningconfig.h"
#include "project/loop/icmilloopstate.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace icmil::project {

struct IcmilLoopConfig {
    std::filesystem::path projectRoot;
    std::filesystem::path slides;    // slide files (listSlides); empty: the project folder
    std::filesystem::path labelsCsv; // empty: <slides>/labels.csv, else <project>/labels.csv
    std::string name = "icmil";
    int iterations = 2;              // fine-tuning rounds K: iterations 0..K are evaluated
    std::string device = "auto";     // "auto", "cpu", "cuda", "cuda:N": every phase
    engine::EmbedderConfig embedder; // iteration 0's
    // A randomly initialised built-in embedder (no weights) first has its batch-norm statistics
    // estimated (Embedder::recalibrateBatchNorm) on this many tissue patches drawn from all the
    // dataset's slides, seeded by the embedder's seed (no labels are used, so the folds of one
    // dataset calibrate alike); iteration 0 then uses that embedder, icmil/<name>/embedder-it0.pth.
    // Without it eval-mode batch norm normalises nothing and the features of all patches are so
    // alike that the bag classifier's loss stays at ln 2. 0: off.
    std::int64_t calibrationPatches = 2000;
    // Extraction: batch size, readers, half precision, tiling. The loop sets the rest.
    ExtractionConfig extraction;
    // The bag classifier, retrained every iteration (inputDim and classes come from the data).
    engine::MilModelConfig model;
    engine::BagTrainerConfig trainer;
    std::vector<std::string> classNames;
    SplitConfig split;
    // Fine-tuning: distillation settings, epochs, patches, batch size, seed. The loop sets the
    // project, the training slides (the split's train slides), the tiling and the output.
    FineTuningConfig fineTuning;
    // The class of bags that hold no instance of any other class (normal tissue: MIL's negative
    // bags). Fine-tuning then teaches every patch of the training slides with this label this
    // class, instead of the teacher's prediction (FineTuningConfig::negativeSlides), an
    // extension of the reference. Empty: off, as in the reference.
    std::string negativeClass;
    bool overwrite = false; // start again, deleting this loop's earlier outputs
    // Iteration 0's features in features/<iteration0Encoder>/ instead of features/<name>-it0/:
    // loops with the same embedder, seed and patches (the folds of one dataset) share them. The
    // loop extracts the slides missing there and reuses the others; it never deletes them
    // (--overwrite deletes only its own attention maps there): whoever shares them owns them.
    // Its classifier run stays runs/<name>-it0/. Empty: the loop's own folder.
    std::string iteration0Encoder;
    // Stop at a slide that cannot be used (no file, unreadable, extraction failed, no tissue
    // patches) instead of leaving it out with a warning naming it.
    bool strict = false;
};

struct LoopProgress {
    int iteration = 0;
    int iterations = 0; // K + 1
    std::string phase;  // "calibrating", "fine-tuning", "extracting", "training"
    std::string step;   // the phase's own words ("slide_003", "epoch 4/20", ...)
    std::int64_t done = 0;
    std::int64_t total = 0;
    double loss = -1.0;       // the phase's running loss; -1 when none
    double etaSeconds = -1.0; // of this phase; -1 while unknown
};

struct IcmilLoopEvents {
    std::function<void(const LoopProgress &)> progress;                            // throttled by each phase (~100 ms)
    std::function<void(const std::string &)> message;                              // one line for a log
    std::function<void(int iteration, const engine::EpochReport &)> epochFinished; // bag classifier
    std::function<void(int iteration, const FineTuningEpoch &)> fineTuningEpochFinished;
    std::function<void(int iteration, const std::string &phase)> phaseFinished; // after the state is saved
    std::function<void(const IterationSummary &)> iterationFinished;
};

struct IcmilLoopResult {
    std::vector<IterationSummary> iterations; // every finished iteration, resumed ones included
    bool cancelled = false;
    int resumedAt = -1; // the iteration a resumed run continued, -1 for a fresh run
    std::string resumedPhase;
    std::filesystem::path stateFile;
    std::filesystem::path iterationsCsv;
    std::string device;
    std::string splitDescription;
    std::vector<LeftOutSlide> leftOut; // the newest iteration's (or, before one, the unreadable slides)
    double seconds = 0.0;              // this run's
};

// The settings of `config` that shape a loop's results, as JSON text (state.json "settings"); a
// saved loop with other settings is not resumed.
std::string loopSettingsJson(const IcmilLoopConfig &config);

// Whether the loop first calibrates the batch norm of `config`'s embedder: a built-in without
// weights, with calibrationPatches > 0.
bool calibratesEmbedder(const IcmilLoopConfig &config);

// The inverse of loopSettingsJson: `base` with every setting the JSON (a saved loop's
// state.json "settings") records written over it, so that a loop made from the result has the
// same settings and resumes. Settings the JSON lacks (an older version's) keep base's. Throws
// ProjectError "Cannot read the saved loop's settings: ..." for text that is not such JSON.
IcmilLoopConfig loopConfigFromSettings(const std::string &settingsJson, IcmilLoopConfig base);

} // namespace icmil::project
