#include "project/demorecipe.h"

namespace icmil::project {

DemoRecipe demoRecipe(const std::filesystem::path &dir)
{
    DemoRecipe recipe;
    recipe.dataset.outputDir = dir;
    recipe.dataset.slides = 24;
    recipe.dataset.seed = 2026;
    recipe.dataset.width = 8000;
    recipe.dataset.height = 6400;
    recipe.dataset.positiveFraction = 0.5;
    recipe.dataset.preset = slide::SyntheticPreset::Camelyon;
    return recipe;
}

bool isDemoDataset(const std::filesystem::path &dir)
{
    return SyntheticDataset::madeWith(dir, demoRecipe(dir).dataset);
}

} // namespace icmil::project
