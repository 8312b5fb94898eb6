// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/training/predictiontable.h"
#include "project/jsonvalue.h"

#include "project/atomicfile.h"
#include "project/projecterror.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace icmil::project {

namespace {

using nlohmann::json;

std::string csvField(const std::string &value)
{
    if (value.find_first_of(",\"\r\n") == std::string::npos)
        return value;
    std::string quoted = "\"";
    for (const char c : value)
        quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    return quoted + "\"";
}

std::string number(double value)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.9g", value);
    return text;
}

std::string probabilityHeader(std::size_t classes)
{
    std::string header;
    for (std::size_t c = 0; c < classes; ++c)
        header += ",p_" + std::to_string(c);
    return header;
}

std::string probabilityFields(const SlidePredictionRow &row)
{
    std::string fields;
    for (const double p : row.probabilities)
        fields += "," + number(p);
    return fields;
}

std::string className(const PredictionTable &table, int index)
{
    if (index >= 0 && static_cast<std::size_t>(index) < table.classNames.size())
        return table.classNames[static_cast<std::size_t>(index)];
    return std::to_string(index);
}

std::size_t classCount(const PredictionTable &table)
{
    std::size_t classes = table.classNames.size();
    for (const auto &row : table.rows)
        classes = std::max(classes, row.probabilities.size());
    return classes;
}

} // namespace

int decideClass(const std::vector<double> &probabilities, std::optional<double> threshold)
{
    if (probabilities.size() == 2 && threshold)
        return probabilities[1] >= *threshold ? 1 : 0;
    int best = 0;
    for (std::size_t c = 1; c < probabilities.size(); ++c)
        if (probabilities[c] > probabilities[static_cast<std::size_t>(best)])
            best = static_cast<int>(c);
    return best;
}

void writePredictionsCsv(const std::filesystem::path &path, const PredictionTable &table)
{
    std::string out = "slide_id,case_id,label,split" + probabilityHeader(classCount(table)) + ",predicted,patches,above_threshold\n";
    for (const auto &row : table.rows) {
        // yes / no against the operating threshold on p_1; empty without one.
        const std::string above
            = table.threshold && row.probabilities.size() == 2 ? (row.probabilities[1] >= *table.threshold ? "yes" : "no") : "";
        out += csvField(row.slideId) + "," + csvField(row.caseId) + "," + csvField(row.label) + "," + csvField(row.split)
            + probabilityFields(row) + "," + csvField(className(table, row.predicted)) + "," + std::to_string(row.patches) + "," + above
            + "\n";
    }
    writeFileAtomically(path, out);
}

void writeClamFoldCsv(const std::filesystem::path &path, const PredictionTable &table, const std::string &split)
{
    std::string out = "slide_id,Y,Y_hat" + probabilityHeader(classCount(table)) + "\n";
    for (const auto &row : table.rows) {
        if (row.labelIndex < 0 || (!split.empty() && row.split != split))
            continue;
        out += csvField(row.slideId) + "," + std::to_string(row.labelIndex) + "," + std::to_string(row.predicted) + probabilityFields(row)
            + "\n";
    }
    writeFileAtomically(path, out);
}

void writePredictionsJson(const std::filesystem::path &path, const PredictionTable &table)
{
    json rows = json::array();
    for (const auto &row : table.rows)
        rows.push_back({{"slide_id", row.slideId},
                        {"case_id", row.caseId},
                        {"label", row.label},
                        {"split", row.split},
                        {"label_index", row.labelIndex},
                        {"probabilities", row.probabilities},
                        {"predicted", row.predicted},
                        {"patches", row.patches}});
    json document = {{"run", table.run},
                     {"model_type", table.modelType},
                     {"encoder", table.encoder},
                     {"class_names", table.classNames},
                     {"threshold", table.threshold ? json(*table.threshold) : json(nullptr)},
                     {"rows", rows}};
    writeFileAtomically(path, document.dump(1) + "\n");
}

PredictionTable readPredictionsJson(const std::filesystem::path &path)
{
    const std::string prefix = "Cannot read predictions from '" + path.string() + "': ";
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ProjectError(prefix + "no such file");
    try {
        const json document = json::parse(in);
        PredictionTable table;
        table.run = document.value("run", "");
        table.modelType = document.value("model_type", "");
        table.encoder = document.value("encoder", "");
        table.classNames = document.at("class_names").get<std::vector<std::string>>();
        if (document.contains("threshold") && document["threshold"].is_number())
            table.threshold = document["threshold"].get<double>();
        for (const json &row : document.at("rows")) {
            SlidePredictionRow r;
            r.slideId = row.at("slide_id").get<std::string>();
            r.caseId = row.value("case_id", "");
            r.label = row.value("label", "");
            r.split = row.value("split", "");
            r.labelIndex = (row.contains("label_index") ? jsonGet<int>(row.at("label_index")) : -1);
            r.probabilities = row.at("probabilities").get<std::vector<double>>();
            r.predicted = jsonGet<int>(row.at("predicted"));
            r.patches = row.contains("patches") ? jsonGet<long long>(row.at("patches")) : 0LL;
            table.rows.push_back(std::move(r));
        }
        return table;
    } catch (const json::exception &e) {
        throw ProjectError(prefix + e.what());
    }
}

} // namespace icmil::project
