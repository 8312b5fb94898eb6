// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/loop/icmilloopstate.h"
#include "project/jsonvalue.h"

#include "common/numberformat.h"
#include "project/atomicfile.h"
#include "project/jsonnesting.h"
#include "project/projecterror.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace icmil::project {

namespace {

using nlohmann::json;

json optionalNumber(const std::optional<double> &value)
{
    return value && std::isfinite(*value) ? json(*value) : json(nullptr);
}

std::optional<double> readOptional(const json &object, const char *key)
{
    if (!object.contains(key) || object[key].is_null())
        return std::nullopt;
    return object[key].get<double>();
}

json figuresJson(const std::optional<IterationSplitFigures> &figures)
{
    if (!figures)
        return nullptr;
    return {{"slides", figures->slides},
            {"auc", optionalNumber(figures->auc)},
            {"accuracy", figures->accuracy},
            {"f1", figures->f1},
            {"loss", figures->loss}};
}

std::optional<IterationSplitFigures> readFigures(const json &object, const char *key)
{
    if (!object.contains(key) || object[key].is_null())
        return std::nullopt;
    const json &f = object[key];
    IterationSplitFigures figures;
    figures.slides = jsonGet<int>(f.at("slides"));
    figures.auc = readOptional(f, "auc");
    figures.accuracy = f.at("accuracy").get<double>();
    figures.f1 = f.at("f1").get<double>();
    figures.loss = f.at("loss").get<double>();
    return figures;
}

json leftOutJson(const std::vector<LeftOutSlide> &slides)
{
    json list = json::array();
    for (const LeftOutSlide &slide : slides)
        list.push_back({{"slide_id", slide.slideId}, {"reason", slide.reason}});
    return list;
}

json iterationJson(const IterationSummary &s)
{
    return {{"iteration", s.iteration},
            {"encoder", s.encoder},
            {"embedder", {{"name", s.embedderName}, {"weights", s.embedderWeights.string()}}},
            {"completed_phases", s.completedPhases},
            {"finetune",
             {{"seconds", s.fineTuneSeconds},
              {"mae_before", s.fineTuneMaeBefore},
              {"mae_after", s.fineTuneMaeAfter},
              {"best_epoch", s.fineTuneBestEpoch},
              {"patches_per_second", s.fineTunePatchesPerSecond},
              {"loss", s.fineTuneLoss}}},
            {"extract", {{"seconds", s.extractSeconds}, {"patches", s.extractedPatches}, {"left_out", leftOutJson(s.leftOut)}}},
            {"train",
             {{"seconds", s.trainSeconds},
              {"run_dir", s.runDir.string()},
              {"best_epoch", s.bestEpoch},
              {"epochs_run", s.epochsRun},
              {"loss", s.trainLoss},
              {"threshold", optionalNumber(s.threshold)},
              {"train", figuresJson(s.train)},
              {"val", figuresJson(s.val)},
              {"test", figuresJson(s.test)}}}};
}

IterationSummary readIteration(const json &j)
{
    IterationSummary s;
    s.iteration = jsonGet<int>(j.at("iteration"));
    s.encoder = j.at("encoder").get<std::string>();
    s.embedderName = j.at("embedder").at("name").get<std::string>();
    s.embedderWeights = j.at("embedder").at("weights").get<std::string>();
    s.completedPhases = j.at("completed_phases").get<std::vector<std::string>>();
    const json &f = j.at("finetune");
    s.fineTuneSeconds = f.at("seconds").get<double>();
    s.fineTuneMaeBefore = f.at("mae_before").get<double>();
    s.fineTuneMaeAfter = f.at("mae_after").get<double>();
    s.fineTuneBestEpoch = jsonGet<int>(f.at("best_epoch"));
    s.fineTunePatchesPerSecond = f.at("patches_per_second").get<double>();
    s.fineTuneLoss = f.at("loss").get<double>();
    s.extractSeconds = j.at("extract").at("seconds").get<double>();
    s.extractedPatches = jsonGet<std::int64_t>(j.at("extract").at("patches"));
    if (const json &extract = j.at("extract"); extract.contains("left_out")) // not in older loops' files
        for (const json &slide : extract.at("left_out"))
            s.leftOut.push_back({slide.at("slide_id").get<std::string>(), slide.at("reason").get<std::string>()});
    const json &t = j.at("train");
    s.trainSeconds = t.at("seconds").get<double>();
    s.runDir = t.at("run_dir").get<std::string>();
    s.bestEpoch = jsonGet<int>(t.at("best_epoch"));
    s.epochsRun = jsonGet<int>(t.at("epochs_run"));
    s.trainLoss = t.at("loss").get<double>();
    s.threshold = readOptional(t, "threshold");
    s.train = readFigures(t, "train");
    s.val = readFigures(t, "val");
    s.test = readFigures(t, "test");
    return s;
}

std::string csvNumber(const std::optional<double> &value)
{
    if (!value || !std::isfinite(*value))
        return {};
    return formatSignificant(*value);
}

} // namespace

std::string describeLeftOut(const std::vector<LeftOutSlide> &slides, std::size_t limit)
{
    std::string text;
    for (std::size_t i = 0; i < slides.size() && i < limit; ++i)
        text += (i ? ", " : "") + slides[i].slideId + " (" + slides[i].reason + ")";
    if (slides.size() > limit)
        text += ", and " + std::to_string(slides.size() - limit) + " more";
    return text;
}

bool IterationSummary::completed(const std::string &phase) const
{
    return std::find(completedPhases.begin(), completedPhases.end(), phase) != completedPhases.end();
}

LoopState readLoopState(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ProjectError("Cannot read the ICMIL loop state '" + path.string() + "'");
    try {
        const json j = json::parse(in, jsonNestingLimit("The ICMIL loop state '" + path.string() + "' is damaged: "));
        if (jsonGet<int>(j.at("format")) != LoopState::kFormat)
            throw ProjectError("The ICMIL loop state '" + path.string() + "' has format " + std::to_string(jsonGet<int>(j.at("format")))
                               + "; this version reads format " + std::to_string(LoopState::kFormat));
        LoopState state;
        state.name = j.at("name").get<std::string>();
        state.settings = j.at("settings").dump();
        for (const json &iteration : j.at("iterations"))
            state.iterations.push_back(readIteration(iteration));
        return state;
    } catch (const json::exception &error) {
        throw ProjectError("The ICMIL loop state '" + path.string() + "' is damaged: " + error.what());
    }
}

void writeLoopState(const std::filesystem::path &path, const LoopState &state)
{
    json iterations = json::array();
    for (const IterationSummary &iteration : state.iterations)
        iterations.push_back(iterationJson(iteration));
    const json j
        = {{"format", LoopState::kFormat}, {"name", state.name}, {"settings", json::parse(state.settings)}, {"iterations", iterations}};
    writeFileAtomically(path, j.dump(2) + "\n");
}

void writeIterationsCsv(const std::filesystem::path &path, const std::vector<IterationSummary> &iterations)
{
    std::ostringstream csv;
    csv << "iteration,encoder,val_auc,val_accuracy,val_f1,test_auc,test_accuracy,test_f1,train_loss,finetune_mae_before,"
           "finetune_mae_after,finetune_seconds,extract_seconds,train_seconds\n";
    auto figures = [&](const std::optional<IterationSplitFigures> &f) {
        if (!f)
            csv << ",,,";
        else
            csv << csvNumber(f->auc) << ',' << csvNumber(f->accuracy) << ',' << csvNumber(f->f1) << ',';
    };
    for (const IterationSummary &s : iterations) {
        if (!s.completed("train"))
            continue;
        csv << s.iteration << ',' << s.encoder << ',';
        figures(s.val);
        figures(s.test);
        const bool tuned = s.iteration > 0;
        csv << csvNumber(s.trainLoss) << ',' << (tuned ? csvNumber(s.fineTuneMaeBefore) : "") << ','
            << (tuned ? csvNumber(s.fineTuneMaeAfter) : "") << ',' << csvNumber(s.fineTuneSeconds) << ',' << csvNumber(s.extractSeconds)
            << ',' << csvNumber(s.trainSeconds) << '\n';
    }
    writeFileAtomically(path, csv.str());
}

namespace {

std::string settingText(const json &value)
{
    return value.is_string() ? value.get<std::string>() : value.dump();
}

// `saved` is nullptr where the saved settings lack the key.
void collectChanges(const json *saved, const json &now, const std::string &path, std::vector<std::string> &changes)
{
    if (saved && *saved == now)
        return;
    if (!saved) {
        changes.push_back(path + " was not recorded, now " + settingText(now));
        return;
    }
    if (saved->is_object() && now.is_object()) {
        for (const auto &[key, value] : now.items())
            collectChanges(saved->contains(key) ? &saved->at(key) : nullptr, value, path.empty() ? key : path + "." + key, changes);
        for (const auto &[key, value] : saved->items())
            if (!now.contains(key))
                changes.push_back((path.empty() ? key : path + "." + key) + " was " + settingText(value) + ", now not used");
        return;
    }
    changes.push_back(path + " was " + settingText(*saved) + ", now " + settingText(now));
}

} // namespace

std::vector<std::string> loopSettingsChanges(const std::string &saved, const std::string &now)
{
    std::vector<std::string> changes;
    const json before = json::parse(saved);
    collectChanges(&before, json::parse(now), "", changes);
    // A preset first: the settings it sets follow from it.
    std::stable_partition(changes.begin(), changes.end(), [](const std::string &c) { return c.find(".preset ") != std::string::npos; });
    return changes;
}

} // namespace icmil::project
