#include "ui/training/trainingsettings.h"

#include "engine/mil/milmodel.h"
#include "slide/tissue/tissuedetectionparams.h"

namespace icmil::ui {

project::IcmilLoopConfig TrainingSettings::defaultLoopConfig()
{
    // As app/cli's loopConfig() fills it from RunOptions' defaults.
    project::IcmilLoopConfig config;
    config.extraction.batchSize = 64;
    config.extraction.readerThreads = 0;
    config.extraction.tiling.grid.overlap = 0.0; // tissue, magnification and patch size: the settings'
    config.model.embedDim = 512;
    config.model.attentionDim = 128;
    config.model.dropout = 0.0;
    config.model.pseudoBags = 5;
    config.model.distillation = engine::DtfdDistillation::Afs;
    config.trainer.weightDecay = 1e-4;
    config.trainer.gradientClip = 5.0;
    config.trainer.lrDecay = 0.2;
    config.split.valFraction = 0.1;
    config.split.testFraction = 0.1;
    config.split.folds = 1;
    config.split.fold = 0;
    config.split.useCsvSplit = true;
    config.fineTuning.batchSize = 100;
    config.fineTuning.validationFraction = 0.1;
    config.fineTuning.maxValidationPatches = 2000;
    config.fineTuning.readerThreads = 0;
    config.fineTuning.distillation.weightDecay = 1e-4;
    config.fineTuning.distillation.gradientClip = 5.0;
    config.fineTuning.distillation.confidenceBeta = 0.0;
    config.fineTuning.distillation.freezeBatchNorm = true;
    return config;
}

DeviceDefaults TrainingSettings::deviceDefaults(bool cpu)
{
    if (cpu)
        return {"tiny-cnn", 50, 3, 2000, 1e-4};
    return {"resnet50-trunc", 200, 5, 10000, 1e-5};
}

DeviceDefaults TrainingSettings::deviceSized() const
{
    return {embedder, epochs, fineTuneEpochs, fineTunePatches, fineTuneLearningRate};
}

void TrainingSettings::setDeviceSized(const DeviceDefaults &values)
{
    embedder = values.embedder;
    epochs = values.epochs;
    fineTuneEpochs = values.fineTuneEpochs;
    fineTunePatches = values.fineTunePatches;
    fineTuneLearningRate = values.fineTuneLearningRate;
}

void TrainingSettings::applyDemoRecipe(const project::DemoRecipe &recipe, project::IcmilLoopConfig &base)
{
    followDevice = false; // the demo's loop, as `icmil demo` runs it, on any device
    iterations = recipe.iterations;
    epochs = recipe.epochs;
    learningRate = recipe.learningRate;
    fineTuneEpochs = recipe.fineTuneEpochs;
    fineTunePatches = recipe.fineTunePatches;
    fineTuneLearningRate = recipe.fineTuneLearningRate;
    base.fineTuning.distillation.teacherTemperature = recipe.teacherTemperature;
    tissuePreset = recipe.tissuePreset;
    base.split.valFraction = recipe.valFraction;
    base.split.testFraction = recipe.testFraction;
}

TrainingSettings TrainingSettings::fromLoopConfig(const project::IcmilLoopConfig &config, TrainingSettings s)
{
    s.name = config.name;
    s.model = engine::milModelTypeName(config.model.type);
    s.embedder = config.embedder.name;
    s.embedderWeights = config.embedder.weights;
    s.epochs = config.trainer.epochs;
    s.learningRate = config.trainer.learningRate;
    s.fineTuneLearningRate = config.fineTuning.distillation.learningRate;
    s.fineTuneEpochs = config.fineTuning.epochs;
    s.fineTunePatches = config.fineTuning.patchesPerEpoch;
    s.confidenceWeighted = config.fineTuning.distillation.confidenceWeighted;
    s.seed = config.trainer.seed;
    s.tissuePreset = config.extraction.tiling.tissue.presetName;
    s.magnification = config.extraction.tiling.grid.targetMagnification.value_or(0.0);
    s.patchSize = config.extraction.tiling.grid.patchSize;
    s.minTissue = config.extraction.tiling.grid.minTissueFraction;
    s.followDevice = false;
    return s;
}

project::IcmilLoopConfig TrainingSettings::loopConfig(project::IcmilLoopConfig base) const
{
    project::IcmilLoopConfig config = std::move(base);
    config.projectRoot = projectRoot;
    config.slides = slides.empty() ? projectRoot : slides;
    config.name = name;
    config.iterations = iterations;
    config.device = device;
    config.embedder.name = embedder;
    config.embedder.weights = embedderWeights;
    config.extraction.embedder = config.embedder;
    if (config.extraction.tiling.tissue.presetName != tissuePreset) // the same preset keeps e.g. a saved loop's Otsu
        config.extraction.tiling.tissue = slide::TissueDetectionParams::preset(tissuePreset);
    slide::PatchGridParams &grid = config.extraction.tiling.grid;
    grid.targetMagnification = magnification > 0.0 ? std::optional<double>(magnification) : std::nullopt;
    grid.patchSize = patchSize;
    grid.minTissueFraction = minTissue;
    config.extraction.projectDir = projectRoot;
    config.extraction.device = device;
    config.model.type = engine::parseMilModelType(model);
    config.model.seed = seed;
    config.trainer.epochs = epochs;
    config.trainer.learningRate = learningRate;
    config.trainer.seed = seed;
    config.split.seed = seed;
    config.fineTuning.epochs = fineTuneEpochs;
    config.fineTuning.patchesPerEpoch = fineTunePatches;
    config.fineTuning.seed = seed;
    config.fineTuning.distillation.learningRate = fineTuneLearningRate;
    config.fineTuning.distillation.confidenceWeighted = confidenceWeighted;
    config.fineTuning.distillation.seed = seed;
    return config;
}

} // namespace icmil::ui
