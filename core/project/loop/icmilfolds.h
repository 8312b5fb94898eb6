// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The ICMIL loop on k folds: the same loop (same settings, same seeds) run once per fold, the fold
// being the split (datasetsplit.h: with a split column in the labels, fold k of the non-test cases
// is validation and test stays test; without one, fold k of all cases is test), then summed up per
// iteration (foldaggregate.h).
//
// Fold k is an ordinary loop named <name>-fold<k>, so it has its own state, runs and features and
// resumes on its own:
//   icmil/<name>-fold<k>/ ...                    as icmilloop.h, per fold
//   features/<name>-folds-it0/                   iteration 0's features, shared by the folds (the
//                                                embedder, its seed and the patches are the same)
//   runs/<name>-fold<k>-it0/, ...                each fold's classifier runs
//   icmil/<name>-folds.json, icmil/<name>-folds.csv
//                                                mean and sd per iteration, rewritten after each fold
// Running it again resumes the fold under way and continues the finished ones (more iterations).

#include "project/loop/foldaggregate.h"
#include "project/loop/icmilloop.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace icmil::project {

struct FoldedIcmilLoopConfig {
    // Every fold's settings. loop.name names the run; loop.split.folds and .fold are set per fold,
    // loop.iteration0Encoder by shareIteration0.
    IcmilLoopConfig loop;
    int folds = 5;               // K >= 2
    bool shareIteration0 = true; // extract iteration 0's features once for all folds
};

// The loop's events, each with the fold it comes from (folds run one after another).
struct FoldedIcmilLoopEvents {
    std::function<void(int fold, int folds)> foldStarted;
    std::function<void(int fold, const IcmilLoopResult &)> foldFinished; // not for a cancelled fold
    std::function<void(int fold, const LoopProgress &)> progress;
    std::function<void(int fold, const std::string &)> message;
    std::function<void(int fold, int iteration, const engine::EpochReport &)> epochFinished;
    std::function<void(int fold, int iteration, const FineTuningEpoch &)> fineTuningEpochFinished;
    std::function<void(int fold, int iteration, const std::string &phase)> phaseFinished;
    std::function<void(int fold, const IterationSummary &)> iterationFinished;
};

struct FoldedIcmilLoopResult {
    std::vector<IcmilLoopResult> folds;            // fold order: the finished ones, then a cancelled one
    std::vector<FoldIterationAggregate> aggregate; // over the iterations the folds finished
    bool cancelled = false;
    std::filesystem::path aggregateJson;
    std::filesystem::path aggregateCsv;
    double seconds = 0.0; // this run's
};

class FoldedIcmilLoop {
public:
    explicit FoldedIcmilLoop(FoldedIcmilLoopConfig config);

    // Throws what IcmilLoop::run throws (the fold under way is the one foldStarted last named), or
    // ProjectError for fewer than 2 folds. Cancelled: returns with cancelled set after writing the
    // summary of what finished; the next run resumes the fold that was under way.
    FoldedIcmilLoopResult run(const FoldedIcmilLoopEvents &events = {});

    // Thread-safe; forwarded to the fold under way.
    void cancel();

    // Fold k's loop settings, as run() runs them (the app opens a fold's loop with them).
    IcmilLoopConfig foldConfig(int fold) const;

    static std::string foldLoopName(const std::string &name, int fold); // "<name>-fold<k>"
    static std::string sharedEncoderName(const std::string &name);      // "<name>-folds-it0"

private:
    FoldedIcmilLoopConfig m_config;
    std::atomic_bool m_cancelled{false};
    std::mutex m_currentMutex;
    IcmilLoop *m_current = nullptr;
};

} // namespace icmil::project
