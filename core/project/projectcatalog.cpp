// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/projectcatalog.h"
#include "project/jsonvalue.h"

#include "project/atomicfile.h"
#include "project/demorecipe.h"
#include "project/training/predictiontable.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"
#include "project/dataset/slidelist.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace icmil::project {

namespace {

constexpr const char *kSettingsFile = "icmil-project.json";

// Relative to the root when inside it, so a project folder can move.
std::string storedPath(const fs::path &root, const fs::path &path)
{
    if (path.empty())
        return {};
    const fs::path relative = path.lexically_proximate(root);
    const bool inside = !relative.empty() && relative.native().rfind("..", 0) != 0 && !relative.is_absolute();
    return (inside ? relative : fs::absolute(path)).lexically_normal().generic_string();
}

fs::path resolvedPath(const fs::path &root, const std::string &stored)
{
    if (stored.empty())
        return {};
    const fs::path path(stored);
    return (path.is_absolute() ? path : root / path).lexically_normal();
}

// The newest runs/<run>/predictions.json, or nothing.
// Every run with predictions, by name, the newest marked, with its validation AUC.
std::vector<ProjectRun> runsWithPredictions(const fs::path &root)
{
    std::vector<ProjectRun> runs;
    const fs::path dir = ProjectLayout(root).runsDir();
    std::error_code error;
    if (!fs::is_directory(dir, error))
        return runs;
    std::optional<std::size_t> newest;
    fs::file_time_type newestTime{};
    for (const fs::directory_entry &entry : fs::directory_iterator(dir, error)) {
        ProjectRun run;
        run.name = entry.path().filename().string();
        run.predictionsFile = entry.path() / "predictions.json";
        std::error_code statError;
        const fs::file_time_type time = fs::last_write_time(run.predictionsFile, statError);
        if (statError)
            continue;
        try {
            std::ifstream in(entry.path() / "metrics.json", std::ios::binary);
            if (in) {
                const nlohmann::json metrics = nlohmann::json::parse(in);
                if (metrics.contains("val") && metrics["val"].is_object() && metrics["val"].contains("auc")
                    && metrics["val"]["auc"].is_number() && std::isfinite(metrics["val"]["auc"].get<double>()))
                    run.valAuc = metrics["val"]["auc"].get<double>();
            }
        } catch (const std::exception &) {
            // no usable metrics: the run is still listed, without a validation AUC
        }
        runs.push_back(std::move(run));
        if (!newest || time > newestTime || (time == newestTime && runs.back().predictionsFile > runs[*newest].predictionsFile)) {
            newest = runs.size() - 1;
            newestTime = time;
        }
    }
    if (newest)
        runs[*newest].newest = true;
    std::sort(runs.begin(), runs.end(), [](const ProjectRun &a, const ProjectRun &b) { return a.name < b.name; });
    return runs;
}

// The run to show: the one asked for when it exists, else the best by validation AUC (the newest
// of equals), else the newest.
const ProjectRun *chooseRun(const std::vector<ProjectRun> &runs, const std::string &asked, ProjectCatalog::RunChoice &choice)
{
    for (const ProjectRun &run : runs)
        if (!asked.empty() && run.name == asked) {
            choice = ProjectCatalog::RunChoice::Chosen;
            return &run;
        }
    const ProjectRun *best = nullptr;
    for (const ProjectRun &run : runs)
        if (run.valAuc && (!best || *run.valAuc > *best->valAuc || (*run.valAuc == *best->valAuc && run.newest)))
            best = &run;
    if (best) {
        choice = ProjectCatalog::RunChoice::BestByValidation;
        return best;
    }
    for (const ProjectRun &run : runs)
        if (run.newest) {
            choice = ProjectCatalog::RunChoice::Newest;
            return &run;
        }
    return nullptr;
}

std::string joined(const std::vector<std::string> &names)
{
    std::string out;
    for (const std::string &name : names)
        out += (out.empty() ? "" : ", ") + name;
    return out;
}

} // namespace

fs::path projectSettingsFile(const fs::path &root)
{
    return root / kSettingsFile;
}

ProjectSettings readProjectSettings(const fs::path &root)
{
    ProjectSettings settings;
    const fs::path file = projectSettingsFile(root);
    if (!fs::exists(file)) {
        settings.slides = root;
        settings.labelsCsv = fs::exists(root / "labels.csv") ? root / "labels.csv" : fs::path();
        return settings;
    }
    try {
        std::ifstream in(file);
        if (!in)
            throw ProjectError("the file cannot be opened");
        const nlohmann::json json = nlohmann::json::parse(in);
        if (!json.is_object() || !json.contains("format") || jsonGet<int>(json.at("format")) != ProjectSettings::kFormat)
            throw ProjectError("not an ICMIL Studio project file of format " + std::to_string(ProjectSettings::kFormat));
        settings.slides = resolvedPath(root, json.value("slides", std::string()));
        settings.labelsCsv = resolvedPath(root, json.value("labels", std::string()));
        settings.classNames = json.value("class_names", std::vector<std::string>());
        if (settings.slides.empty())
            settings.slides = root;
    } catch (const nlohmann::json::exception &e) {
        throw ProjectError("Cannot read project settings from '" + file.string() + "': " + e.what());
    } catch (const ProjectError &e) {
        throw ProjectError("Cannot read project settings from '" + file.string() + "': " + e.what());
    }
    return settings;
}

bool recordProjectInputs(const fs::path &root, const fs::path &slides, const fs::path &labelsCsv)
{
    auto normal = [](const fs::path &path) {
        if (path.empty())
            return path;
        const fs::path p = fs::absolute(path).lexically_normal();
        return p.has_filename() ? p : p.parent_path(); // "dir/" as "dir"
    };
    const bool exists = fs::exists(projectSettingsFile(root));
    ProjectSettings settings = exists ? readProjectSettings(root) : ProjectSettings{};
    const fs::path wantedSlides = normal(slides);
    const fs::path wantedLabels = normal(labelsCsv);
    if (exists && normal(settings.slides) == wantedSlides && normal(settings.labelsCsv) == wantedLabels)
        return false;
    settings.slides = wantedSlides;
    settings.labelsCsv = wantedLabels;
    writeProjectSettings(fs::absolute(root), settings);
    return true;
}

void writeProjectSettings(const fs::path &root, const ProjectSettings &settings)
{
    nlohmann::json json;
    json["format"] = ProjectSettings::kFormat;
    json["slides"] = storedPath(root, settings.slides);
    json["labels"] = storedPath(root, settings.labelsCsv);
    json["class_names"] = settings.classNames;
    std::error_code error;
    fs::create_directories(root, error);
    if (error)
        throw ProjectError("Cannot write '" + projectSettingsFile(root).string() + "': " + error.message());
    writeFileAtomically(projectSettingsFile(root), json.dump(2) + "\n");
}

std::vector<LabelsIssue> checkProjectInputs(const fs::path &slides, const fs::path &labelsCsv, const std::vector<std::string> &classNames,
                                            const std::function<std::string(const fs::path &)> &readProblem)
{
    std::error_code error;
    if (!fs::is_directory(slides, error))
        throw ProjectError("The slides folder '" + slides.string() + "' does not exist");
    const LabelsTable table = LabelsTable::read(labelsCsv);
    std::vector<LabelsIssue> issues = table.issues();
    const std::vector<LabelsIssue> warnings = table.warnings(!classNames.empty());
    issues.insert(issues.end(), warnings.begin(), warnings.end());
    const std::set<std::string> known(classNames.begin(), classNames.end());
    for (const LabelledSlide &row : table.rows()) {
        const int line = row.line;
        if (!known.empty() && !known.contains(row.label))
            issues.push_back(
                {line, "slide '" + row.slideId + "' has unknown label '" + row.label + "' (expected " + joined(classNames) + ")"});
        const fs::path file = findSlideFile(slides, row.slideId);
        if (file.empty())
            issues.push_back({line, "no slide file for '" + row.slideId + "' in '" + slides.string() + "'", false});
        else if (const std::string problem = readProblem ? readProblem(file) : std::string(); !problem.empty())
            issues.push_back({line, "slide '" + row.slideId + "' cannot be read: " + problem, false});
    }
    std::stable_sort(issues.begin(), issues.end(), [](const LabelsIssue &a, const LabelsIssue &b) { return a.line < b.line; });
    return issues;
}

ProjectCatalog loadProjectCatalog(const fs::path &root, const std::string &run)
{
    std::error_code error;
    if (!fs::is_directory(root, error))
        throw ProjectError("The project folder '" + root.string() + "' does not exist");
    ProjectCatalog catalog;
    catalog.root = root;
    catalog.settings = readProjectSettings(root);
    catalog.demo = isDemoDataset(root);
    const fs::path &slidesDir = catalog.settings.slides;

    std::set<std::string> listed;
    if (!catalog.settings.labelsCsv.empty() && fs::exists(catalog.settings.labelsCsv)) {
        catalog.labelIssues = checkProjectInputs(slidesDir, catalog.settings.labelsCsv, catalog.settings.classNames);
        const LabelsTable table = LabelsTable::read(catalog.settings.labelsCsv);
        for (const LabelledSlide &row : table.rows()) {
            CatalogSlide slide;
            slide.slideId = row.slideId;
            slide.caseId = row.caseId;
            slide.label = row.label;
            slide.split = row.split;
            slide.path = findSlideFile(slidesDir, row.slideId);
            listed.insert(row.slideId);
            catalog.slides.push_back(std::move(slide));
        }
    }
    // Slide files without a row: shown unlabelled (they can still be viewed and predicted).
    std::vector<CatalogSlide> unlabelled;
    // Where findSlideFile looks: <slides>/slides when it exists, else <slides> itself.
    const fs::path dir = fs::is_directory(slidesDir / "slides", error) ? slidesDir / "slides" : slidesDir;
    {
        for (const fs::directory_entry &entry : fs::directory_iterator(dir, error)) {
            if (!entry.is_regular_file() || !hasSlideExtension(entry.path()))
                continue;
            const std::string id = entry.path().stem().string();
            if (!listed.insert(id).second)
                continue;
            CatalogSlide slide;
            slide.slideId = id;
            slide.path = entry.path();
            unlabelled.push_back(std::move(slide));
        }
    }
    std::sort(unlabelled.begin(), unlabelled.end(), [](const auto &a, const auto &b) { return a.slideId < b.slideId; });
    catalog.slides.insert(catalog.slides.end(), unlabelled.begin(), unlabelled.end());

    catalog.runs = runsWithPredictions(root);
    if (const ProjectRun *shown = chooseRun(catalog.runs, run, catalog.predictionRunChoice)) {
        try {
            const PredictionTable table = readPredictionsJson(shown->predictionsFile);
            catalog.predictionsFile = shown->predictionsFile;
            catalog.predictionRun = table.run.empty() ? shown->name : table.run;
            catalog.predictionEncoder = table.encoder;
            catalog.classNames = table.classNames;
            catalog.threshold = table.threshold;
            std::map<std::string, const SlidePredictionRow *> byId;
            for (const SlidePredictionRow &row : table.rows)
                byId[row.slideId] = &row;
            for (CatalogSlide &slide : catalog.slides) {
                const auto it = byId.find(slide.slideId);
                if (it == byId.end())
                    continue;
                const SlidePredictionRow &row = *it->second;
                if (slide.split.empty())
                    slide.split = row.split; // the split the run drew (labels CSV without a split column)
                SlidePrediction prediction;
                prediction.probabilities = row.probabilities;
                prediction.predicted = row.predicted >= 0 && row.predicted < static_cast<int>(table.classNames.size())
                    ? table.classNames[static_cast<std::size_t>(row.predicted)]
                    : std::to_string(row.predicted);
                slide.prediction = std::move(prediction);
            }
        } catch (const ProjectError &e) {
            catalog.labelIssues.push_back({0, e.what(), false}); // shown with the other problems; slides still listed
        }
    }
    return catalog;
}

bool slidesMissing(const ProjectCatalog &catalog)
{
    if (catalog.slides.empty()) {
        std::error_code ec;
        return !catalog.predictionRun.empty() || fs::exists(catalog.root / "icmil", ec) || fs::exists(catalog.root / "runs", ec);
    }
    bool labelled = false;
    for (const CatalogSlide &slide : catalog.slides) {
        if (!slide.path.empty())
            return false;
        labelled = labelled || !slide.label.empty();
    }
    return labelled;
}

} // namespace icmil::project
