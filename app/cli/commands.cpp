// SPDX-License-Identifier: GPL-3.0-or-later
#include "commands.h"
#include "cliformat.h"
#include "progressbar.h"

#include "common/licence.h"
#include "common/numberformat.h"
#include "engine/runtime/runtime.h"
#include "project/dataset/datasetsummary.h"
#include "project/demorecipe.h"
#include "project/projecterror.h"
#include "project/dataset/syntheticdataset.h"
#include "slide/slideerror.h"
#include "slide/io/slidelibraries.h"
#include "slide/io/slidesource.h"

#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <regex>
#include <sstream>

#include <spawn.h>
#include <unistd.h>

namespace icmil::cli {

namespace fs = std::filesystem;

namespace {

bool parseSize(const std::string &text, std::int64_t &width, std::int64_t &height)
{
    static const std::regex pattern(R"((\d+)\s*[xX]\s*(\d+))");
    std::smatch m;
    if (!std::regex_match(text, m, pattern))
        return false;
    width = std::stoll(m[1].str());
    height = std::stoll(m[2].str());
    return true;
}

std::string formatSeconds(double s)
{
    return fixed(s, s < 10 ? 2 : 1) + " s";
}

} // namespace

std::string versionText()
{
    std::ostringstream out;
    out << "icmil " << ICMIL_VERSION << '\n'
        << engine::describe(engine::runtimeInfo()) << '\n'
        << "OpenSlide " << slide::openSlideVersion() << " | OpenCV " << slide::openCvVersion() << " | libtiff " << slide::libTiffVersion()
        << '\n'
        << kLicenceSentence << '\n';
    return out.str();
}

int runSynth(const SynthOptions &options)
{
    project::SyntheticDatasetConfig config;
    config.outputDir = options.outputDir;
    config.slides = options.slides;
    config.seed = options.seed;
    config.positiveFraction = options.positiveFraction;
    config.threads = options.threads;
    const std::optional<slide::SyntheticPreset> preset = slide::parsePreset(options.preset);
    if (!preset) {
        std::cerr << "icmil synth: unknown preset '" << options.preset << "' (easy, camelyon or hard)\n";
        return 2;
    }
    config.preset = *preset;
    if (!parseSize(options.size, config.width, config.height)) {
        std::cerr << "error: --size must look like WIDTHxHEIGHT (e.g. 20000x16000), got '" << options.size << "'\n";
        return 2;
    }
    project::SyntheticDataset dataset(config);
    ProgressBar bar;
    const project::SyntheticDatasetResult result = dataset.generate([&](int i, int n, double f) { bar.update(i, n, f); });
    bar.finish();
    for (const project::SyntheticSlideRecord &s : result.slides) {
        std::cout << std::left << std::setw(10) << s.slideId << ' ' << std::setw(7) << s.label << ' ' << s.levelCount << " levels, "
                  << std::setw(3) << s.tumourRegions << " tumour regions, tissue " << std::fixed << std::setprecision(1)
                  << 100.0 * s.tissueFraction << "%, tumour " << 100.0 * s.tumourFraction << "% of tissue"
                  << (s.microMetastasesOnly ? " (micro-metastases only)" : "") << ", mimics " << 100.0 * s.mimicFraction << "%, "
                  << (s.seconds > 0 ? formatSeconds(s.seconds) : std::string("reused")) << std::defaultfloat << '\n';
    }
    std::cout << "Wrote " << result.slides.size() << " slides, " << result.labelsPath.string() << " and " << result.manifestPath.string()
              << " in " << formatSeconds(result.seconds) << '\n';
    return 0;
}

int runInfo(const fs::path &slidePath)
{
    const auto source = slide::SlideSource::open(slidePath);
    const slide::SlideMetadata &m = source->metadata();
    std::cout << "File:        " << slidePath.string() << '\n'
              << "Backend:     " << source->backendName() << " (vendor " << m.vendor << ")\n";
    std::cout << "MPP:         ";
    if (m.mppX && m.mppY)
        std::cout << *m.mppX << " x " << *m.mppY << " um/px\n";
    else
        std::cout << "unknown\n";
    std::cout << "Objective:   ";
    if (m.objectivePower)
        std::cout << *m.objectivePower << "x\n";
    else
        std::cout << "unknown\n";
    std::cout << "Levels:      " << source->levelCount() << '\n';
    for (int i = 0; i < source->levelCount(); ++i) {
        const slide::LevelInfo &l = source->level(i);
        std::cout << "  " << i << ": " << l.width << " x " << l.height << "  downsample " << std::fixed << std::setprecision(3)
                  << l.downsample << std::defaultfloat << '\n';
    }
    std::cout << "Associated:  ";
    for (const std::string &name : m.associatedImages)
        std::cout << name << ' ';
    std::cout << (m.associatedImages.empty() ? "none\n" : "\n");
    std::cout << "Properties:\n";
    for (const auto &[key, value] : m.properties) {
        // A value of several lines continues under its first line, not at the margin.
        const std::string indent(key.size() + 5, ' ');
        std::string text;
        for (const char c : value) {
            if (c == '\n')
                text += "\n" + indent;
            else if (c != '\r')
                text += c;
        }
        std::cout << "  " << key << " = " << text << '\n';
    }
    return 0;
}

int runSummary(const fs::path &datasetDir)
{
    const project::DatasetSummary summary = project::DatasetSummary::inspect(datasetDir);
    std::cout << summary.format();
    return summary.openable == static_cast<int>(summary.slides.size()) ? 0 : 1;
}

namespace {

// Starts icmil-studio (installed beside this program) on `project`, detached: the CLI returns at
// once and the app outlives the terminal's job control. False when it cannot be started.
bool launchStudio(const fs::path &project)
{
    std::error_code error;
    const fs::path studio = fs::read_symlink("/proc/self/exe", error).parent_path() / "icmil-studio";
    if (error || !fs::exists(studio))
        return false;
    const std::string program = studio.string();
    const std::string projectPath = fs::absolute(project).string();
    std::vector<char *> argv{const_cast<char *>(program.c_str()), const_cast<char *>("--project"), const_cast<char *>(projectPath.c_str()),
                             nullptr};
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, program.c_str(), nullptr, &attributes, argv.data(), environ);
    posix_spawnattr_destroy(&attributes);
    return rc == 0;
}

} // namespace

int runDemo(const fs::path &outputDir, bool openApp)
{
    const project::DemoRecipe recipe = project::demoRecipe(outputDir);
    std::cout << versionText() << '\n' << "Generating the demo dataset in " << outputDir.string() << " ...\n";
    SynthOptions options;
    options.outputDir = outputDir;
    options.slides = recipe.dataset.slides;
    options.seed = recipe.dataset.seed;
    options.size = std::to_string(recipe.dataset.width) + "x" + std::to_string(recipe.dataset.height);
    options.positiveFraction = recipe.dataset.positiveFraction;
    options.preset = slide::presetName(recipe.dataset.preset);
    if (const int rc = runSynth(options); rc != 0)
        return rc;
    std::cout << '\n';
    if (const int rc = runSummary(outputDir); rc != 0)
        return rc;

    // The whole ICMIL loop on it, small enough for a CPU. Running the demo again resumes (or
    // finds it done).
    RunOptions loop;
    loop.extract.tile.projectDir = outputDir;
    loop.extract.tile.slides = outputDir;
    project::IcmilLoopConfig recipeLoop = project::loopDefaults();
    project::applyDemoRecipe(recipe, recipeLoop);
    // The same loop as a command to copy (a number's shortest text, whatever std::cout's format).
    const std::string command = "icmil run --project " + outputDir.string() + " --iterations " + std::to_string(recipeLoop.iterations)
        + " --epochs " + std::to_string(recipeLoop.trainer.epochs) + " --lr " + formatShortest(recipeLoop.trainer.learningRate)
        + " --finetune-epochs " + std::to_string(recipeLoop.fineTuning.epochs) + " --finetune-patches "
        + std::to_string(recipeLoop.fineTuning.patchesPerEpoch) + " --finetune-lr "
        + formatShortest(recipeLoop.fineTuning.distillation.learningRate) + " --teacher-temperature "
        + formatShortest(recipeLoop.fineTuning.distillation.teacherTemperature) + " --negative-class " + recipeLoop.negativeClass
        + " --preset " + recipeLoop.extraction.tiling.tissue.presetName + " --val-fraction " + formatShortest(recipeLoop.split.valFraction)
        + " --test-fraction " + formatShortest(recipeLoop.split.testFraction);
    std::cout << "\nRunning the ICMIL loop on the demo dataset (" << command << ") ...\n";
    if (const int rc = runLoop(loop, [&recipe](project::IcmilLoopConfig &config) { project::applyDemoRecipe(recipe, config); }); rc != 0)
        return rc;

    const bool display = std::getenv("DISPLAY") != nullptr || std::getenv("WAYLAND_DISPLAY") != nullptr;
    if (openApp && display && launchStudio(outputDir)) {
        std::cout << "\nOpened ICMIL Studio on the demo project (icmil-studio --project " << outputDir.string() << ").\n";
    } else {
        std::cout << "\nBrowse the slides, predictions and attention heatmaps in the app: icmil-studio --project " << outputDir.string()
                  << (openApp && display ? " (it could not be started from here)" : "") << '\n';
    }
    return 0;
}

} // namespace icmil::cli
