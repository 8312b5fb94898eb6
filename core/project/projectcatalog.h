// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// A project as the app shows it: where its slides and labels are, every slide with its label,
// split and latest prediction, and the problems found on the way. The project folder is the
// CLI's layout (projectlayout.h), so a project made by one opens in the other; the app adds
// <root>/icmil-project.json naming the slides folder and the labels CSV when they live elsewhere.
#include "project/dataset/labelstable.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

struct ProjectSettings {
    static constexpr int kFormat = 1;
    std::filesystem::path slides;        // a folder of slides (or a dataset folder with slides/)
    std::filesystem::path labelsCsv;     // CLAM layout case_id,slide_id,label[,split]
    std::vector<std::string> classNames; // the labels a row may have; empty: whatever the CSV holds
};

// <root>/icmil-project.json, paths stored relative to the root when inside it. Without the file
// (a project the CLI made): slides = root, labels = <root>/labels.csv, else <root>/slides/... as
// the CLI's --slides default reads them. Throws ProjectError "Cannot read project settings from
// 'x': <cause>".
ProjectSettings readProjectSettings(const std::filesystem::path &root);
// Atomic; throws ProjectError "Cannot write 'x': <cause>".
void writeProjectSettings(const std::filesystem::path &root, const ProjectSettings &settings);
std::filesystem::path projectSettingsFile(const std::filesystem::path &root);
// What a command given the slides (and labels) records, so the app opens the project with them:
// icmil-project.json is written when it is missing or names other slides or labels (its class
// names are kept). Paths are made absolute first. Returns whether the file was written; throws
// as readProjectSettings and writeProjectSettings do.
bool recordProjectInputs(const std::filesystem::path &root, const std::filesystem::path &slides, const std::filesystem::path &labelsCsv);

struct SlidePrediction {
    std::string predicted;             // class name
    std::vector<double> probabilities; // by class index
};

struct CatalogSlide {
    std::string slideId;
    std::string caseId;
    std::filesystem::path path; // empty when no slide file matches
    std::string label;          // empty when the labels CSV has no row for it
    std::string split;          // the CSV's, else the one the shown run drew
    std::optional<SlidePrediction> prediction;
};

// A classifier run of the project with predictions (runs/<name>/predictions.json).
struct ProjectRun {
    std::string name; // the run folder's name
    std::filesystem::path predictionsFile;
    std::optional<double> valAuc; // metrics.json's validation AUC, when the run had one
    bool newest = false;          // the most recently written predictions
};

struct ProjectCatalog {
    std::filesystem::path root;
    ProjectSettings settings;
    std::vector<CatalogSlide> slides;     // labels CSV order, then unlabelled slide files by name
    std::vector<LabelsIssue> labelIssues; // row by row: bad rows, unknown labels, missing slides
    std::vector<ProjectRun> runs;         // every run with predictions, by name
    // Why the shown run is the one shown: asked for, the best by validation AUC, or the newest
    // (no run has a validation AUC); None without predictions.
    enum class RunChoice { None, Chosen, BestByValidation, Newest };
    RunChoice predictionRunChoice = RunChoice::None;
    // The run whose predictions are shown (loadProjectCatalog's choice), its encoder
    // (attention maps live in features/<encoder>/attention/<run>/) and class names.
    std::string predictionRun;
    std::filesystem::path predictionsFile; // runs/<folder>/predictions.json
    std::string predictionEncoder;
    std::vector<std::string> classNames;
    std::optional<double> threshold; // binary: the run calls class 1 when its probability >= this
    bool demo = false;               // the folder holds the demo recipe's dataset (project/demorecipe.h)
};

// Checks a labels CSV against a slides folder as a new project would use them: every CSV row
// problem, labels outside `classNames` (when given) and rows whose slide file is missing or, with
// when `readProblem` is given, cannot be read (it returns why, e.g. slideReadProblem or a
// SlideReadCache's problem; not blocking: training leaves such rows out),
// and the table's warnings (LabelsTable::warnings: no case_id; with no `classNames`, labels that
// look like typos), each with its line, in line order; never throws for row problems. Throws ProjectError when the
// CSV cannot be read at all or the slides folder does not exist.
std::vector<LabelsIssue> checkProjectInputs(const std::filesystem::path &slides, const std::filesystem::path &labelsCsv,
                                            const std::vector<std::string> &classNames = {},
                                            const std::function<std::string(const std::filesystem::path &)> &readProblem = {});

// Reads everything above (settings, labels, slide files, one run's predictions). The run shown:
// `run` when the project has it, else the best by validation AUC (the newest of equals), else the
// newest. Throws ProjectError when the root does not exist or its settings cannot be read; a
// missing labels CSV is not an error (slides are listed unlabelled).
ProjectCatalog loadProjectCatalog(const std::filesystem::path &root, const std::string &run = {});

// Whether the project's slides are elsewhere than its settings say: labelled rows of which not
// one has its slide file, or no slides at all in a project that has runs (a CLI project whose
// slides lived outside it, a moved dataset). The app then asks for the folder.
bool slidesMissing(const ProjectCatalog &catalog);

} // namespace icmil::project
