// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The ICMIL loop on k folds summed up per iteration: how many folds finished it, and the mean and
// sample standard deviation over those folds of the validation and test AUC and accuracy. Pure
// functions (the CLI, the app and the benchmark call them on whatever fold results they hold) and
// the file a folds run leaves beside its loops (icmilfolds.h):
//   icmil/<name>-folds.json   FoldsAggregate, read back by readFoldsAggregate
//   icmil/<name>-folds.csv    iteration,folds,val_auc_mean,val_auc_sd,test_auc_mean,test_auc_sd,
//                             val_accuracy_mean,val_accuracy_sd,test_accuracy_mean,test_accuracy_sd

#include "project/loop/icmilloopstate.h"

#include <filesystem>
#include <string>
#include <vector>

namespace icmil::project {

struct MeanSd {
    int n = 0;         // the values it is made of
    double mean = 0.0; // 0 when n is 0
    double sd = 0.0;   // sample standard deviation (n - 1 in the denominator); 0 when n < 2
};

// Of the finite values; NaN and infinities are left out (and not counted in n).
MeanSd meanSd(const std::vector<double> &values);

struct FoldIterationAggregate {
    int iteration = 0;
    int folds = 0;           // folds that finished this iteration
    MeanSd valAuc, testAuc;  // over the folds whose AUC is defined
    int valAucUndefined = 0; // folds without one (a class or the split missing): valAuc.n + this == folds
    int testAucUndefined = 0;
    MeanSd valAccuracy, testAccuracy; // over the folds that have the split
};

// folds[f]: fold f's iterations (IcmilLoopResult::iterations, or LoopState::iterations: the ones not
// trained yet are left out). One entry per iteration that at least one fold finished, in order.
std::vector<FoldIterationAggregate> aggregateFolds(const std::vector<std::vector<IterationSummary>> &folds);

// What <project>/icmil/<name>-folds.json holds.
struct FoldsAggregate {
    static constexpr int kFormat = 1;
    std::string name;               // the run's name; fold k is the loop icmil/<name>-fold<k>/
    int folds = 0;                  // K
    std::vector<std::string> loops; // the folds' loop names, fold 0 first
    std::vector<FoldIterationAggregate> iterations;
};

std::filesystem::path foldsAggregateJsonPath(const std::filesystem::path &projectRoot, const std::string &name);
std::filesystem::path foldsAggregateCsvPath(const std::filesystem::path &projectRoot, const std::string &name);

// Both atomic (writeFileAtomically); throw ProjectError naming the file.
void writeFoldsAggregateJson(const std::filesystem::path &path, const FoldsAggregate &aggregate);
void writeFoldsAggregateCsv(const std::filesystem::path &path, const std::vector<FoldIterationAggregate> &iterations);

// Throws ProjectError naming the file when it cannot be read, is damaged or has another format.
FoldsAggregate readFoldsAggregate(const std::filesystem::path &path);

} // namespace icmil::project
