// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The ICMIL loop on a project (Iteratively Coupled MIL, github.com/Dootmaan/ICMIL):
//
//   iteration 0:      extract features with the initial embedder, train the bag classifier,
//                     evaluate (validation and test);
//   iteration k >= 1: fine-tune the embedder with iteration k-1's classifier as the frozen
//                     teacher (embedderfinetuning.h), re-extract every slide's features with it,
//                     retrain the bag classifier from scratch, evaluate.
//
// Everything lands in the project, named after the loop (default "icmil"):
//   icmil/<name>/state.json            what is done (icmilloopstate.h), rewritten after each phase
//   icmil/<name>/iterations.csv        one row per finished iteration
//   icmil/<name>/embedder-it<k>.pth    the fine-tuned embedder of iteration k
//   features/<name>-it<k>/             iteration k's features (and attention/<run>/)
//   runs/<name>-it<k>/                 iteration k's classifier run: checkpoint, metrics,
//                                      predictions.csv, ... (miltraining.h)
//
// Each phase completes atomically: its outputs are written before the state says it is done, so a
// run killed at any moment (kill -9 included) resumes at the first phase not done and, with the
// same seed, ends with the same result as a run that was never stopped. Running again with more
// iterations continues a finished loop.

#include "engine/mil/bagtrainer.h"
#include "engine/embedders/embedder.h"
#include "engine/mil/milmodel.h"
#include "project/dataset/datasetsplit.h"
#include "project/loop/embedderfinetuning.h"
#include "project/features/featureextractor.h"
#include "project/loop/icmilloopconfig.h"
#include "project/loop/icmilloopstate.h"

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace icmil::engine {
class DistributedGroup;
}

namespace icmil::project {

// The embedder of a loop's iteration (engine::EmbedderConfig name + weights): iteration 0 names
// the user's embedder (or its calibrated copy in the loop folder), later ones files in the loop
// folder `loopDir` (icmil/<name>), which the state names relative to it so a project can move.
engine::EmbedderConfig loopIterationEmbedder(const IcmilLoopConfig &config, const std::filesystem::path &loopDir,
                                             const IterationSummary &iteration);

class IcmilLoop {
public:
    // With a `group` (engine/distributed) this process is one rank of a torch.distributed job in
    // which every rank runs the same loop on the same project (a shared filesystem): extraction
    // takes each rank's share of the slides, fine-tuning is data-parallel (embedderfinetuning.h),
    // and the bag classifier's training and batch-norm calibration run on rank 0 alone (seconds
    // to minutes on features in memory, where sharding bags would buy little), the others
    // waiting. Rank 0 alone writes the state, after each phase; the others then read it, so
    // every rank resumes where it says, and a job whose ranks were killed resumes when launched
    // again. An error on rank 0 stops the others with the same message.
    explicit IcmilLoop(IcmilLoopConfig config, engine::DistributedGroup *group = nullptr);

    // Throws ProjectError / EngineError / SlideError with one sentence: a bad dataset, a state
    // file made with other settings ("... start it again (Train in the app, --overwrite on the command line) ..."), a phase that
    // failed (diverged, out of memory), no slide left to use, or with `strict` a slide that cannot
    // be used (otherwise such slides are left out: result.leftOut, state.json). Cancelled: returns
    // with cancelled set; the phase under way is not recorded and runs again on resume.
    IcmilLoopResult run(const IcmilLoopEvents &events = {});

    // Thread-safe; forwarded to the phase under way (answered within a batch, a bag or a step).
    void cancel();

    // The settings that shape the results, as JSON text (loopSettingsJson); a state with other
    // settings is not resumed.
    std::string settingsJson() const;

private:
    void runFineTune(IterationSummary &iteration, const IterationSummary &previous, const std::vector<SlideEntry> &trainSlides,
                     const IcmilLoopEvents &events);
    void runCalibrate(IterationSummary &iteration, const std::vector<SlideEntry> &slides, const IcmilLoopEvents &events);
    void runExtract(IterationSummary &iteration, const std::vector<SlideEntry> &slides, const IcmilLoopEvents &events);
    void runTrain(IterationSummary &iteration, const IcmilLoopEvents &events);
    // Runs `work` with cancel() forwarded to `job` (cleared again however work ends).
    template <typename Job, typename Work> auto runAsCurrent(Job &job, Work &&work);
    bool leader() const;
    // Rank 0 does `work` while the others wait; an exception on rank 0 is thrown on every rank
    // (the others get a ProjectError with its message). Without a group: work().
    void onLeader(const std::string &step, const std::function<void()> &work);
    // A key for the job's store, new at each call (every rank makes the same calls).
    std::string nextKey(const std::string &what);

    IcmilLoopConfig m_config;
    engine::DistributedGroup *m_group = nullptr;
    int m_keys = 0;
    std::filesystem::path m_labels;
    std::vector<LeftOutSlide> m_unreadable;    // this run's: no slide file, or it cannot be read
    std::vector<std::string> m_negativeSlides; // training slides of IcmilLoopConfig::negativeClass
    int m_negativeClass = -1;                  // its class index; -1: none
    std::filesystem::path m_loopDir;
    c10::Device m_device = c10::kCPU;
    std::atomic_bool m_cancelled{false};
    std::mutex m_currentMutex;
    std::function<void()> m_cancelCurrent;
};

} // namespace icmil::project
