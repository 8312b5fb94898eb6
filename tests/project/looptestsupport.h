// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The ICMIL loop the loop and folds tests run: a randomly initialised tiny-cnn on 256 px level-0
// patches of biopsy-sized synthetic tissue, a small ABMIL, and fine-tuning small enough that a
// whole iteration takes seconds on a CPU. Each test sets its own epochs and patch counts.

#include "project/loop/icmilloop.h"
#include "slide/tissue/tissuedetectionparams.h"

#include <filesystem>

namespace icmil::test {

inline project::IcmilLoopConfig tinyLoopConfig(const std::filesystem::path &projectRoot, const std::filesystem::path &slides,
                                               int iterations)
{
    project::IcmilLoopConfig c;
    c.projectRoot = projectRoot;
    c.slides = slides;
    c.iterations = iterations;
    c.device = "cpu";
    c.embedder.name = "tiny-cnn";
    c.embedder.seed = 7;
    c.extraction.batchSize = 32;
    c.extraction.readerThreads = 2;
    c.extraction.tiling.tissue = slide::TissueDetectionParams::preset("bwh_biopsy");
    c.extraction.tiling.grid.targetMagnification = std::nullopt;
    c.extraction.tiling.grid.level = 0;
    c.extraction.tiling.grid.patchSize = 256;
    c.model.embedDim = 32;
    c.model.attentionDim = 16;
    c.trainer.learningRate = 1e-3;
    c.fineTuning.batchSize = 16;
    c.fineTuning.readerThreads = 2;
    c.fineTuning.distillation.learningRate = 1e-4;
    return c;
}

} // namespace icmil::test
