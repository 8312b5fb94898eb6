// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/loop/loopdefaults.h"

#include "slide/tissue/tissuedetectionparams.h"

namespace icmil::project {

namespace {

IcmilLoopConfig makeLoopDefaults()
{
    IcmilLoopConfig c;
    c.name = "icmil";
    c.iterations = 2;
    c.device = "auto";
    c.embedder.name = "tiny-cnn";
    c.embedder.seed = 0;
    c.calibrationPatches = 2000;

    c.extraction.embedder = c.embedder;
    c.extraction.device = c.device;
    c.extraction.batchSize = 64;
    c.extraction.readerThreads = 0;
    c.extraction.halfPrecision = false;
    c.extraction.tiling.tissue = slide::TissueDetectionParams::preset("default");
    c.extraction.tiling.grid.patchSize = 256;
    c.extraction.tiling.grid.targetMagnification = 20.0;
    c.extraction.tiling.grid.overlap = 0.0;
    c.extraction.tiling.grid.minTissueFraction = 0.25;

    c.model.type = engine::MilModelType::Abmil;
    c.model.embedDim = 512;
    c.model.attentionDim = 128;
    c.model.dropout = 0.0;
    c.model.pseudoBags = 5;
    c.model.distillation = engine::DtfdDistillation::Afs;
    c.model.seed = 1;

    c.trainer.epochs = 200;
    c.trainer.learningRate = 0.0; // the reference's for the model (ABMIL 2e-4, DTFD-MIL 1e-4)
    c.trainer.weightDecay = 1e-4;
    c.trainer.gradientClip = 5.0;
    c.trainer.lrDecay = 0.2;
    c.trainer.noSchedule = false;
    c.trainer.earlyStoppingPatience = 0;
    c.trainer.seed = 1;

    c.split.valFraction = 0.1;
    c.split.testFraction = 0.1;
    c.split.seed = 1;
    c.split.folds = 1;
    c.split.fold = 0;
    c.split.useCsvSplit = true;

    c.fineTuning.epochs = 5;
    c.fineTuning.patchesPerEpoch = 10000;
    c.fineTuning.batchSize = 100;
    c.fineTuning.validationFraction = 0.1;
    c.fineTuning.maxValidationPatches = 2000;
    c.fineTuning.readerThreads = 0;
    c.fineTuning.seed = 1;
    engine::DistillationConfig &d = c.fineTuning.distillation;
    d.learningRate = 1e-5;
    d.weightDecay = 1e-4;
    d.gradientClip = 5.0;
    d.confidenceWeighted = false;
    d.confidenceBeta = 0.0; // the reference's (ABMIL 6, DTFD-MIL 2)
    d.seed = 1;
    d.mixedPrecision = false;
    d.freezeBatchNorm = true;
    d.teacherTemperature = 1.0; // the reference's soft targets

    c.negativeClass = ""; // the teacher's targets everywhere, as in the reference
    c.overwrite = false;
    c.strict = false;
    return c;
}

} // namespace

const IcmilLoopConfig &loopDefaults()
{
    static const IcmilLoopConfig defaults = makeLoopDefaults();
    return defaults;
}

} // namespace icmil::project
