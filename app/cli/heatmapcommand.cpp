// SPDX-License-Identifier: GPL-3.0-or-later
// `icmil heatmap`: a run's whole-slide heatmaps as PNG and pyramidal TIFF, to take away.
#include "commands.h"
#include "cliformat.h"

#include "common/asciicase.h"
#include "project/export/runheatmapexport.h"
#include "project/projecterror.h"

#include <iomanip>
#include <iostream>

namespace icmil::cli {

namespace {

namespace fs = std::filesystem;

std::string fileList(const project::SlideHeatmapResult &result)
{
    std::string text;
    for (const fs::path &file : result.files) {
        text += (text.empty() ? "" : ", ") + file.filename().string();
        if (file.extension() == ".tif")
            text += " (" + std::to_string(result.image.levels) + (result.image.levels == 1 ? " level)" : " levels)");
    }
    return text;
}

} // namespace

int runHeatmap(const HeatmapOptions &options)
{
    project::RunHeatmapExport request;
    request.projectDir = options.projectDir;
    request.run = options.run;
    request.slides = splitList(options.slides);
    request.slidesDir = options.slidesDir;
    request.outputDir = options.out;
    const std::string format = asciiLower(options.format);
    if (format != "png" && format != "tiff" && format != "both")
        throw project::ProjectError("Unknown format '" + options.format + "': expected png, tiff or both");
    request.png = format != "tiff";
    request.tiff = format != "png";
    request.heatmap.downsample = options.downsample;
    request.heatmap.overlay = options.overlay;
    request.heatmap.opacity = options.opacity;
    request.heatmap.colormap = asciiLower(options.colormap);
    request.heatmap.whiteBackground = options.white;
    const std::string map = asciiLower(options.map);
    if (map != "attention" && map != "instance")
        throw project::ProjectError("Unknown map '" + options.map + "': expected attention or instance");
    request.instance = map == "instance";
    request.className = options.className;
    if (!request.instance && !options.className.empty())
        throw project::ProjectError("--class chooses the instance view's class: give it with --map instance");
    const std::string normalisation
        = options.normalisation.empty() ? (request.instance ? "probability" : "percentile-rank") : asciiLower(options.normalisation);
    if (normalisation == "min-max")
        request.heatmap.normalisation = project::ScoreNormalisation::MinMax;
    else if (normalisation == "probability")
        request.heatmap.normalisation = project::ScoreNormalisation::Probability;
    else if (normalisation != "percentile-rank")
        throw project::ProjectError("Unknown normalisation '" + options.normalisation
                                    + "': expected percentile-rank, min-max or probability");

    std::cout << (request.instance ? "Instance-score heatmaps" : "Attention heatmaps") << " of run " << options.run << " at downsample "
              << formatShortest(options.downsample) << (options.overlay ? " over the slides" : "") << " (" << request.heatmap.colormap
              << ", " << project::normalisationName(request.heatmap.normalisation) << ") to " << options.out.string() << '\n';
    std::size_t failed = 0;
    const std::vector<project::SlideHeatmapResult> results
        = project::exportRunHeatmaps(request, [&](const project::SlideHeatmapResult &result) {
              if (!result.error.empty()) {
                  ++failed;
                  std::cerr << "error: " << result.slideId << ": " << result.error << '\n';
                  return;
              }
              std::cout << std::left << std::setw(16) << result.slideId << ' ' << result.image.width << " x " << result.image.height
                        << " px  " << fileList(result) << '\n';
          });
    const std::size_t written = results.size() - failed;
    std::cout << "Wrote the heatmaps of " << written << (written == 1 ? " slide" : " slides") << " to " << options.out.string() << '\n';
    if (failed > 0) {
        std::cerr << "error: " << failed << (failed == 1 ? " slide" : " slides") << " failed\n";
        return 1;
    }
    return 0;
}

} // namespace icmil::cli
