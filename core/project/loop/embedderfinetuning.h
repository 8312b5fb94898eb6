// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Step 2 of ICMIL on a project: fine-tune the patch embedder with the frozen bag classifier as
// teacher (engine/icmil/teacherstudent.h) on patches sampled from the training slides' tissue patch
// grids, never from validation or test slides. A fixed held-out share of those patches measures
// how well the student agrees with the teacher (mean absolute error of the class
// probabilities, the reference's TestModel) after every epoch; the epoch with the lowest error is
// the one kept, written with Embedder::save (atomically). Patches get the stain normalisation
// extraction gives them (FineTuningConfig::stain), before the student's augmentation.

#include "engine/embedders/embedder.h"
#include "project/loop/finetuningconfig.h"
#include "engine/mil/milmodel.h"
#include "engine/icmil/teacherstudent.h"
#include "project/dataset/slidelist.h"
#include "project/features/slidetiler.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace icmil::project {

struct FineTuningEvents {
    std::function<void(const FineTuningProgress &)> progress; // at most every ~100 ms, and at phase ends
    std::function<void(const FineTuningEpoch &)> epochFinished;
    std::function<void(const std::string &)> message; // e.g. the batch halved after CUDA ran out of memory
};

struct FineTuningResult {
    std::vector<FineTuningEpoch> history;
    int bestEpoch = -1;
    double initialMae = 0.0; // the untrained student (augmented view) vs the teacher
    double bestMae = 0.0;
    std::int64_t trainingPatches = 0; // the pool epochs draw from
    std::int64_t validationPatches = 0;
    int batchSize = 0; // in effect at the end (halved on CUDA out of memory)
    bool cancelled = false;
    double seconds = 0.0;
};

class EmbedderFineTuning {
public:
    // `embedder` and `classifier` are copied (teacher and student), on the embedder's device.
    //
    // Data-parallel with a `group` (engine/distributed; every rank runs the same config): each
    // global batch of `batchSize` patches is split over the ranks in rank order (a rank may get
    // none of a small last batch), each rank reads and trains on its share, and the distiller
    // sums the gradients (TeacherStudentDistiller), so the ranks keep equal weights and the run
    // is one process's with the same batch size, learning rate and seeds, up to the order of
    // floating-point sums. Validation is split the same way and summed. Rank 0 alone writes the
    // best student; the others wait for it at a barrier after each epoch. Running out of device
    // memory is an error there (one rank cannot halve its batch alone).
    EmbedderFineTuning(FineTuningConfig config, const engine::Embedder &embedder, const engine::MilModel &classifier,
                       engine::DistributedGroup *group = nullptr);
    ~EmbedderFineTuning();

    // Throws ProjectError / EngineError / SlideError with one sentence: no training slides, no
    // tissue patches, fewer than 2 patches, a slide that cannot be read, the loss diverged, CUDA
    // out of memory with one patch per step. Cancelled: returns with cancelled set and the best
    // student so far written (if an epoch finished).
    FineTuningResult run(const FineTuningEvents &events = {});

    // Thread-safe; answered within one step (a batch of `batchSize` patches).
    void cancel() { m_cancelled = true; }

private:
    FineTuningConfig m_config;
    engine::DistributedGroup *m_group = nullptr;
    engine::TeacherStudentDistiller m_distiller;
    std::atomic_bool m_cancelled{false};
};

} // namespace icmil::project
