// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The values a training run sends from its worker thread to the GUI (rule 8: only values cross
// threads). Plain copies of the core's events, with Qt strings; NaN stands for "not defined"
// (an AUC with a class missing, a split without slides).

#include "project/loop/loopduration.h"

#include <QMetaType>
#include <QPointF>
#include <QString>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace icmil::ui {

inline constexpr double kUndefined = std::numeric_limits<double>::quiet_NaN();

// The loop's progress: phase is "fine-tuning", "extracting" or "training".
struct TrainingProgress {
    int iteration = 0;
    int iterations = 0; // K + 1
    QString phase;
    QString step; // the phase's own words ("slide_003", "epoch 4/20")
    std::int64_t done = 0;
    std::int64_t total = 0;
    double loss = -1.0;       // -1 when none
    double etaSeconds = -1.0; // of this phase; -1 while unknown
};

// One epoch of the bag classifier.
struct ClassifierEpoch {
    int iteration = 0;
    int epoch = 0; // 0-based
    int epochs = 0;
    double trainLoss = 0.0;
    double valLoss = kUndefined;
    double valAuc = kUndefined;
    double seconds = 0.0;
    bool best = false;
};

// One epoch of the embedder's fine-tuning (iterations >= 1).
struct FineTuningEpochPoint {
    int iteration = 0;
    int epoch = 0;     // 0-based
    int epochs = 0;    // of this iteration's fine-tuning (0: unknown)
    double loss = 0.0; // mean total distillation loss
    double validationMae = 0.0;
    double validationAccuracy = 0.0;
    double patchesPerSecond = 0.0;
    bool best = false;
};

// A finished iteration's figures (IterationSummary), with the ROC of its best classifier on
// the test split when that is binary with both classes present.
//
// Folds: when the loop ran on K > 1 folds (icmil run --folds K), the figures are means over the
// folds and the *Sd fields their standard deviations; a plain run has folds 0 and NaN there.
// Localisation: when the slides are a synthetic dataset with tumour masks
// (project/export/tumourgroundtruth.h), how well the iteration's attention finds the tumour; NaN and
// localisedSlides 0 otherwise.
struct IterationResult {
    int iteration = 0;
    QString encoder;
    QString runName; // runs/<runName>/
    QString runDir;
    double valAuc = kUndefined, valAccuracy = kUndefined, valF1 = kUndefined;
    double testAuc = kUndefined, testAccuracy = kUndefined, testF1 = kUndefined;
    double trainLoss = 0.0;
    int bestEpoch = -1;
    int epochsRun = 0;
    double fineTuneMaeBefore = kUndefined, fineTuneMaeAfter = kUndefined;
    double seconds = 0.0;
    std::vector<QPointF> testRoc; // (fpr, tpr), empty when not defined
    double testRocAuc = kUndefined;
    QString rocNote; // why there is no ROC, when there is none
    // Binary: the run's predictions call a slide positiveClass when P(positiveClass) >= threshold,
    // chosen on the validation slides (the epochs' accuracy uses the argmax).
    double threshold = kUndefined;
    QString positiveClass;

    int folds = 0; // > 1: the figures above are means over this many folds
    double valAucSd = kUndefined, testAucSd = kUndefined;
    double valAccuracySd = kUndefined, testAccuracySd = kUndefined;

    int localisedSlides = 0;                                    // tumour slides scored
    double patchAuc = kUndefined;                               // attention ranks tumour patches: 0.5 chance, 1 perfect
    double topFraction = kUndefined;                            // share of the top-10% attention patches in tumour
    double topFractionCeiling = kUndefined;                     // the best top-10% possible (small tumours)
    double patchAucSd = kUndefined, topFractionSd = kUndefined; // over folds

    bool hasFolds() const { return folds > 1; }
    bool hasLocalisation() const { return localisedSlides > 0 && !std::isnan(patchAuc); }
};

// How a run ended (finished or cancelled): every iteration done so far, resumed ones included.
struct TrainingOutcome {
    std::vector<IterationResult> iterations;
    bool cancelled = false;
    int resumedAt = -1;
    QString device;
    QString splitDescription;
    QString bestRun; // the run with the best validation AUC; empty when none
    double seconds = 0.0;
};

// A project's saved loop (icmil/<name>/state.json), read off the GUI thread.
struct LoopStateInfo {
    QString stateFile; // <project>/icmil/<name>/state.json: which loop this describes
    bool exists = false;
    QString error;              // the state file could not be read
    int iterationsDone = 0;     // iterations with every phase done
    bool phaseUnderWay = false; // an iteration was started and not finished (stopped or killed)
    std::string settings;       // the loop's saved settings (JSON, IcmilLoop::settingsJson)
    std::vector<IterationResult> iterations;
};

// A duration estimate of the loop as the settings stand (project/loop/loopdurationestimate.h), made
// on the worker thread. `request` names the request it answers (older answers are dropped).
struct DurationEstimateInfo {
    int request = 0;
    QString device; // as resolved ("cpu", "cuda:0"); empty when it could not be
    bool cpu = true;
    QString error;          // why there is no estimate (no slides, an unknown embedder, ...)
    bool cancelled = false; // superseded or stopped: nothing to show
    project::LoopDurationEstimate estimate;
};

// The finished iteration with the highest validation AUC (first on ties); -1 when none has one.
inline int bestIterationIndex(const std::vector<IterationResult> &iterations)
{
    int best = -1;
    for (int i = 0; i < static_cast<int>(iterations.size()); ++i) {
        const double auc = iterations[static_cast<std::size_t>(i)].valAuc;
        if (!std::isnan(auc) && (best < 0 || auc > iterations[static_cast<std::size_t>(best)].valAuc))
            best = i;
    }
    return best;
}

} // namespace icmil::ui

Q_DECLARE_METATYPE(icmil::ui::TrainingProgress)
Q_DECLARE_METATYPE(icmil::ui::ClassifierEpoch)
Q_DECLARE_METATYPE(icmil::ui::FineTuningEpochPoint)
Q_DECLARE_METATYPE(icmil::ui::IterationResult)
Q_DECLARE_METATYPE(icmil::ui::TrainingOutcome)
Q_DECLARE_METATYPE(icmil::ui::LoopStateInfo)
Q_DECLARE_METATYPE(icmil::ui::DurationEstimateInfo)
