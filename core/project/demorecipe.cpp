// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/demorecipe.h"

#include "slide/tissue/tissuedetectionparams.h"

namespace icmil::project {

DemoRecipe demoRecipe(const std::filesystem::path &dir)
{
    DemoRecipe recipe;
    recipe.dataset.outputDir = dir;
    recipe.dataset.slides = 60;
    recipe.dataset.seed = 2026;
    recipe.dataset.width = 8000;
    recipe.dataset.height = 6400;
    recipe.dataset.positiveFraction = 0.5;
    recipe.dataset.preset = slide::SyntheticPreset::Camelyon;
    return recipe;
}

void applyDemoRecipe(const DemoRecipe &recipe, IcmilLoopConfig &config)
{
    if (config.extraction.tiling.tissue.presetName != recipe.tissuePreset)
        config.extraction.tiling.tissue = slide::TissueDetectionParams::preset(recipe.tissuePreset);
    config.trainer.epochs = recipe.epochs;
    config.trainer.learningRate = recipe.learningRate;
    config.split.valFraction = recipe.valFraction;
    config.split.testFraction = recipe.testFraction;
    config.iterations = recipe.iterations;
    config.fineTuning.epochs = recipe.fineTuneEpochs;
    config.fineTuning.patchesPerEpoch = recipe.fineTunePatches;
    config.fineTuning.distillation.learningRate = recipe.fineTuneLearningRate;
    config.fineTuning.distillation.teacherTemperature = recipe.teacherTemperature;
    config.negativeClass = recipe.negativeClass;
}

bool isDemoDataset(const std::filesystem::path &dir)
{
    return SyntheticDataset::madeWith(dir, demoRecipe(dir).dataset);
}

} // namespace icmil::project
