// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/training/trainingsettings.h"

#include "engine/mil/milconfig.h"
#include "slide/tissue/tissuedetectionparams.h"

namespace icmil::ui {

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
    project::applyDemoRecipe(recipe, base);
    followDevice = false; // the demo's loop, as `icmil demo` runs it, on any device
    iterations = base.iterations;
    epochs = base.trainer.epochs;
    learningRate = base.trainer.learningRate;
    fineTuneEpochs = base.fineTuning.epochs;
    fineTunePatches = base.fineTuning.patchesPerEpoch;
    fineTuneLearningRate = base.fineTuning.distillation.learningRate;
    negativeClass = base.negativeClass;
    tissuePreset = base.extraction.tiling.tissue.presetName;
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
    s.roiClasses = config.extraction.tiling.roiClasses;
    s.excludeClasses = config.extraction.tiling.excludeClasses;
    s.stainMethod = engine::stainMethodName(config.extraction.stain.method);
    s.stainReference = config.extraction.stain.referenceSource;
    s.stainReferenceProfile = config.extraction.stain.reference;
    s.stainJitter = config.fineTuning.distillation.augmentation.stainJitter;
    s.negativeClass = config.negativeClass;
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
    config.extraction.tiling.roiClasses = roiClasses;
    config.extraction.tiling.excludeClasses = excludeClasses;
    config.extraction.stain.method = engine::parseStainMethod(stainMethod);
    config.extraction.stain.referenceSource = stainReference.empty() ? std::string("built-in") : stainReference;
    config.extraction.stain.reference = stainReferenceProfile;
    config.fineTuning.distillation.augmentation.stainJitter = stainJitter;
    config.negativeClass = negativeClass;
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
