// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/export/runheatmapexport.h"

#include "common/colormaptable.h"
#include "project/dataset/slidelist.h"
#include "project/projectcatalog.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"
#include "project/training/predictiontable.h"
#include "slide/io/slidesource.h"

#include <algorithm>
#include <exception>
#include <map>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

PredictionTable readRun(const RunHeatmapExport &request)
{
    const ProjectLayout layout(request.projectDir);
    const fs::path stored = layout.runDir(request.run) / "predictions.json";
    std::error_code ec;
    if (!fs::exists(stored, ec))
        throw ProjectError("Run '" + request.run + "' has no predictions in '" + layout.runDir(request.run).string()
                           + "' (run icmil train or icmil predict first)");
    PredictionTable table = readPredictionsJson(stored);
    if (table.run.empty())
        table.run = request.run;
    return table;
}

fs::path attentionFileOf(const RunHeatmapExport &request, const PredictionTable &table, const std::string &slideId)
{
    return ProjectLayout(request.projectDir).attentionFile(table.encoder, table.run, slideId);
}

std::vector<std::string> slidesToDraw(const RunHeatmapExport &request, const PredictionTable &table)
{
    if (!request.slides.empty())
        return request.slides;
    std::vector<std::string> slides;
    for (const SlidePredictionRow &row : table.rows) {
        std::error_code ec;
        if (fs::exists(attentionFileOf(request, table, row.slideId), ec))
            slides.push_back(row.slideId);
    }
    return slides;
}

// slide_id -> slide file, as listSlides finds them (a labels.csv or a folder of slides).
class SlideFiles {
public:
    explicit SlideFiles(const RunHeatmapExport &request)
        : m_dir(request.slidesDir.empty() ? readProjectSettings(request.projectDir).slides : request.slidesDir)
    {
        try {
            for (const SlideEntry &entry : listSlides(m_dir).slides)
                m_paths.emplace(entry.slideId, entry.path);
        } catch (const std::exception &) {
            // a missing folder: each slide says so below
        }
    }

    fs::path find(const std::string &slideId) const
    {
        if (const auto found = m_paths.find(slideId); found != m_paths.end())
            return found->second;
        const fs::path path = findSlideFile(m_dir, slideId);
        if (path.empty())
            throw ProjectError("No slide file for '" + slideId + "' in '" + m_dir.string()
                               + "' (give the slides' folder with --slides-dir)");
        return path;
    }

private:
    fs::path m_dir;
    std::map<std::string, fs::path> m_paths;
};

// The instance view's class: `name` among `classNames`; -1 (the last) when no name is given.
int classIndexOf(const std::string &name, const std::vector<std::string> &classNames, const std::string &run)
{
    if (name.empty())
        return -1;
    for (std::size_t k = 0; k < classNames.size(); ++k)
        if (classNames[k] == name)
            return static_cast<int>(k);
    std::string known;
    for (const std::string &each : classNames)
        known += (known.empty() ? "" : ", ") + each;
    throw ProjectError("Run '" + run + "' has no class '" + name + "' (its classes: " + (known.empty() ? "unnamed" : known) + ")");
}

void checkOptions(const RunHeatmapExport &request)
{
    if (!request.png && !request.tiff)
        throw ProjectError("Nothing to write: choose PNG, TIFF or both");
    try {
        colormapTable(request.heatmap.colormap);
    } catch (const std::invalid_argument &e) {
        throw ProjectError(std::string(e.what()));
    }
    if (!(request.heatmap.downsample >= 1.0))
        throw ProjectError("The downsample must be at least 1 (level-0 pixels per heatmap pixel)");
    std::error_code ec;
    fs::create_directories(request.outputDir, ec);
    if (ec)
        throw ProjectError("Cannot create the folder '" + request.outputDir.string() + "': " + ec.message());
}

} // namespace

std::vector<std::string> runHeatmapSlides(const RunHeatmapExport &request)
{
    return slidesToDraw(request, readRun(request));
}

std::vector<SlideHeatmapResult> exportRunHeatmaps(const RunHeatmapExport &request,
                                                  const std::function<void(const SlideHeatmapResult &)> &onSlide)
{
    const PredictionTable table = readRun(request);
    const std::vector<std::string> slides = slidesToDraw(request, table);
    if (slides.empty())
        throw ProjectError("Run '" + table.run + "' has no attention maps in '"
                           + ProjectLayout(request.projectDir).attentionDir(table.encoder, table.run).string() + "'");
    checkOptions(request);
    if (request.instance && !table.classNames.empty())
        classIndexOf(request.className, table.classNames, table.run); // an unknown class fails before any slide
    const SlideFiles slideFiles(request);
    std::vector<SlideHeatmapResult> results;
    for (const std::string &slideId : slides) {
        SlideHeatmapResult result;
        result.slideId = slideId;
        try {
            const fs::path attentionFile = attentionFileOf(request, table, slideId);
            std::error_code ec;
            if (!fs::exists(attentionFile, ec))
                throw ProjectError("Run '" + table.run + "' has no attention map for '" + slideId + "' ('" + attentionFile.string() + "')");
            const SlideAttention attention = readAttentionFile(attentionFile);
            if (attention.coords.empty())
                throw ProjectError("Run '" + table.run + "' has no patches for '" + slideId + "'");
            const HeatmapScoreChoice choice{request.instance,
                                            request.instance ? classIndexOf(request.className, attention.classNames, table.run) : -1};
            const SlideScores scores = slideScores(attention, choice);
            const std::unique_ptr<slide::SlideSource> source = slide::SlideSource::open(slideFiles.find(slideId));
            for (const bool png : {true, false}) {
                if (png ? !request.png : !request.tiff)
                    continue;
                const fs::path file = request.outputDir / (slideId + (png ? "_heatmap.png" : "_heatmap.tif"));
                const WholeSlideHeatmapImage image = writeWholeSlideHeatmap(*source, attention.coords, attentionPatchSize(attention),
                                                                            scores.scores, request.heatmap, file);
                result.image.width = image.width;
                result.image.height = image.height;
                result.image.levels = std::max(result.image.levels, image.levels);
                result.files.push_back(file);
            }
            const fs::path legend = request.outputDir / (slideId + "_legend.png");
            writeHeatmapLegend(legend, request.heatmap, scores.what);
            result.files.push_back(legend);
        } catch (const std::exception &e) {
            result.error = e.what();
        }
        if (onSlide)
            onSlide(result);
        results.push_back(std::move(result));
    }
    return results;
}

} // namespace icmil::project
