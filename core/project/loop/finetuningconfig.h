// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// ICMIL fine-tuning's settings and reports (embedderfinetuning.h runs it): plain values, no
// LibTorch, so that the app holds them without loading it (docs/ARCHITECTURE.md, "LibTorch on demand").

#include "engine/icmil/distillationconfig.h"
#include "engine/stain/stainconfig.h"
#include "project/dataset/slidelist.h"
#include "project/features/slidetiler.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace icmil::project {

struct FineTuningConfig {
    std::filesystem::path projectRoot; // patch grids come from (or go to) its patches/
    std::vector<SlideEntry> slides;    // the training slides only
    // Bag labels as instance labels where the MIL assumption gives them: every patch of a slide
    // named here (by slide id; a negative bag holds no positive instance) is taught class
    // `negativeClass` of the instance head instead of the teacher's prediction. Empty or -1:
    // the teacher alone (the reference).
    std::vector<std::string> negativeSlides;
    int negativeClass = -1;
    TilingConfig tiling;              // as extraction used, so the same patch files serve
    engine::StainNormalisation stain; // as extraction normalised, so the student sees those colours
    engine::DistillationConfig distillation;
    int epochs = 1;
    std::int64_t patchesPerEpoch = 10000; // drawn afresh each epoch from the training patches
    double validationFraction = 0.1;      // of all patches, held out (the reference's 0.9 / 0.1)
    std::int64_t maxValidationPatches = 2000;
    int batchSize = 100;   // the reference's
    int readerThreads = 0; // 0: every hardware thread
    int batchesAhead = 4;
    std::uint64_t seed = 0;       // sampling (the distiller has its own seed)
    std::filesystem::path output; // the best student's weights
};

struct FineTuningProgress {
    std::string phase; // "sampling", "estimating stain", "training", "validating"
    int epoch = 0;     // 0-based
    int epochs = 0;
    std::int64_t done = 0; // patches in this phase and epoch
    std::int64_t total = 0;
    double loss = 0.0;             // running mean of the total loss this epoch
    double patchesPerSecond = 0.0; // training, over this run
    double etaSeconds = -1.0;      // of the whole fine-tuning; -1 while unknown
};

struct FineTuningEpoch {
    int epoch = 0;
    engine::DistillationLosses loss; // means over the epoch's steps
    double validationMae = 0.0;
    double validationAccuracy = 0.0;
    std::int64_t patches = 0;
    double seconds = 0.0;
    double patchesPerSecond = 0.0; // the epoch's training, reading included (not validation)
    bool best = false;
};

} // namespace icmil::project
