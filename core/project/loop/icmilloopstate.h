// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What an ICMIL loop has done, kept in <project>/icmil/<name>/state.json and rewritten atomically
// after every phase, so a run killed at any moment resumes at the phase after the last one that
// completed. Also what the loop reports per iteration (events, CLI table, GUI chart).

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

// One split's figures for an iteration's best model; nothing when the split has no slides.
struct IterationSplitFigures {
    int slides = 0;
    std::optional<double> auc; // none when not defined (a class missing)
    double accuracy = 0.0;
    double f1 = 0.0;
    double loss = 0.0;
};

// A slide the loop went on without: its file is missing or unreadable, its extraction failed, or
// it has no tissue patches. reason: one sentence.
struct LeftOutSlide {
    std::string slideId;
    std::string reason;
};

// "slide_003 (no slide file), slide_007 (...)": up to `limit` of them, then ", and N more".
std::string describeLeftOut(const std::vector<LeftOutSlide> &slides, std::size_t limit = 3);

struct IterationSummary {
    int iteration = 0;
    std::string encoder; // features/<encoder>/
    // How to rebuild the embedder (engine::EmbedderConfig name + weights). Iteration 0: the
    // user's. Later ones: files in the loop folder, named relative to it ("embedder-it1.pth" as
    // weights of a built-in; a TorchScript file as the name).
    std::string embedderName;
    std::filesystem::path embedderWeights;
    std::vector<std::string> completedPhases; // "finetune" or "calibrate", "extract", "train", in order

    // fine-tuning (iterations >= 1)
    double fineTuneSeconds = 0.0;
    double fineTuneMaeBefore = 0.0; // held-out student-teacher disagreement
    double fineTuneMaeAfter = 0.0;
    int fineTuneBestEpoch = -1;
    double fineTunePatchesPerSecond = 0.0;
    double fineTuneLoss = 0.0; // the best epoch's mean total loss
    // extraction
    double extractSeconds = 0.0;
    std::int64_t extractedPatches = 0;
    // The slides this iteration's extraction went on without (its classifier never saw them;
    // the next iteration's fine-tuning leaves them out too).
    std::vector<LeftOutSlide> leftOut;
    // bag classifier
    double trainSeconds = 0.0;
    std::filesystem::path runDir;
    int bestEpoch = -1;
    int epochsRun = 0;
    double trainLoss = 0.0; // the best epoch's
    std::optional<double> threshold;
    std::optional<IterationSplitFigures> train, val, test;

    bool completed(const std::string &phase) const;
    double seconds() const { return fineTuneSeconds + extractSeconds + trainSeconds; }
};

struct LoopState {
    static constexpr int kFormat = 1;
    std::string name;
    std::string settings; // JSON text of the settings that shape the results
    std::vector<IterationSummary> iterations;
};

// Throws ProjectError naming the file for a state file that cannot be read or parsed.
LoopState readLoopState(const std::filesystem::path &path);
// Atomic (writeFileAtomically); throws ProjectError.
void writeLoopState(const std::filesystem::path &path, const LoopState &state);

// What differs between a loop's saved settings and the settings now (both LoopState::settings
// JSON), one "<group>.<setting> was <saved>, now <now>" each; a setting
// the saved loop does not record (an older version's) reads "was not recorded". Empty: the same. Settings are in alphabetical order, by group.
std::vector<std::string> loopSettingsChanges(const std::string &saved, const std::string &now);

// iteration,encoder,val_auc,val_accuracy,val_f1,test_auc,test_accuracy,test_f1,train_loss,
// finetune_mae_before,finetune_mae_after,finetune_seconds,extract_seconds,train_seconds: one row
// per completed iteration, written atomically (for spreadsheets and plots).
void writeIterationsCsv(const std::filesystem::path &path, const std::vector<IterationSummary> &iterations);

} // namespace icmil::project
