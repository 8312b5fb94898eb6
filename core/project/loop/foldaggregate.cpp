// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/loop/foldaggregate.h"
#include "project/jsonvalue.h"

#include "common/numberformat.h"
#include "project/atomicfile.h"
#include "project/projecterror.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <sstream>

namespace icmil::project {

namespace {

using nlohmann::json;

json meanSdJson(const MeanSd &value)
{
    return {{"n", value.n}, {"mean", value.n > 0 ? json(value.mean) : json(nullptr)}, {"sd", value.n > 0 ? json(value.sd) : json(nullptr)}};
}

json aucJson(const MeanSd &value, int undefined)
{
    json j = meanSdJson(value);
    j["undefined"] = undefined;
    return j;
}

// The reader's own complaint, turned into "... is damaged: <why>" by readFoldsAggregate.
struct Damaged : std::runtime_error {
    using std::runtime_error::runtime_error;
};

MeanSd readMeanSd(const json &object, const char *key, int folds)
{
    const json &j = object.at(key);
    MeanSd value;
    value.n = jsonGet<int>(j.at("n"));
    if (value.n < 0 || value.n > folds)
        throw Damaged(std::string(key) + " averages " + std::to_string(value.n) + " values over " + std::to_string(folds) + " folds");
    if (value.n > 0) {
        value.mean = j.at("mean").get<double>();
        value.sd = j.at("sd").get<double>();
        if (!(value.sd >= 0.0))
            throw Damaged(std::string(key) + " has a negative standard deviation");
    }
    return value;
}

// One of a MeanSd's numbers for the CSV; empty when it is made of no values.
std::string csvCell(const MeanSd &value, double MeanSd::*field)
{
    if (value.n == 0)
        return {};
    return formatSignificant(value.*field);
}

} // namespace

MeanSd meanSd(const std::vector<double> &values)
{
    MeanSd result;
    double sum = 0.0;
    for (double v : values)
        if (std::isfinite(v)) {
            sum += v;
            ++result.n;
        }
    if (result.n == 0)
        return result;
    result.mean = sum / result.n;
    if (result.n < 2)
        return result;
    double squares = 0.0;
    for (double v : values)
        if (std::isfinite(v))
            squares += (v - result.mean) * (v - result.mean);
    result.sd = std::sqrt(squares / (result.n - 1));
    return result;
}

std::vector<FoldIterationAggregate> aggregateFolds(const std::vector<std::vector<IterationSummary>> &folds)
{
    struct Values {
        int folds = 0;
        std::vector<double> valAuc, testAuc, valAccuracy, testAccuracy;
        int valAucUndefined = 0, testAucUndefined = 0;
    };
    std::map<int, Values> byIteration;
    auto add
        = [](const std::optional<IterationSplitFigures> &figures, std::vector<double> &auc, std::vector<double> &accuracy, int &undefined) {
              if (figures && figures->auc && std::isfinite(*figures->auc))
                  auc.push_back(*figures->auc);
              else
                  ++undefined;
              if (figures)
                  accuracy.push_back(figures->accuracy);
          };
    for (const std::vector<IterationSummary> &fold : folds)
        for (const IterationSummary &it : fold) {
            if (!it.completed("train"))
                continue;
            Values &v = byIteration[it.iteration];
            ++v.folds;
            add(it.val, v.valAuc, v.valAccuracy, v.valAucUndefined);
            add(it.test, v.testAuc, v.testAccuracy, v.testAucUndefined);
        }
    std::vector<FoldIterationAggregate> result;
    for (const auto &[iteration, v] : byIteration) {
        FoldIterationAggregate a;
        a.iteration = iteration;
        a.folds = v.folds;
        a.valAuc = meanSd(v.valAuc);
        a.testAuc = meanSd(v.testAuc);
        a.valAucUndefined = v.valAucUndefined;
        a.testAucUndefined = v.testAucUndefined;
        a.valAccuracy = meanSd(v.valAccuracy);
        a.testAccuracy = meanSd(v.testAccuracy);
        result.push_back(a);
    }
    return result;
}

std::filesystem::path foldsAggregateJsonPath(const std::filesystem::path &projectRoot, const std::string &name)
{
    return projectRoot / "icmil" / (name + "-folds.json");
}

std::filesystem::path foldsAggregateCsvPath(const std::filesystem::path &projectRoot, const std::string &name)
{
    return projectRoot / "icmil" / (name + "-folds.csv");
}

void writeFoldsAggregateJson(const std::filesystem::path &path, const FoldsAggregate &aggregate)
{
    json iterations = json::array();
    for (const FoldIterationAggregate &a : aggregate.iterations)
        iterations.push_back({{"iteration", a.iteration},
                              {"folds", a.folds},
                              {"val_auc", aucJson(a.valAuc, a.valAucUndefined)},
                              {"test_auc", aucJson(a.testAuc, a.testAucUndefined)},
                              {"val_accuracy", meanSdJson(a.valAccuracy)},
                              {"test_accuracy", meanSdJson(a.testAccuracy)}});
    const json j = {{"format", FoldsAggregate::kFormat},
                    {"name", aggregate.name},
                    {"folds", aggregate.folds},
                    {"loops", aggregate.loops},
                    {"iterations", iterations}};
    writeFileAtomically(path, j.dump(2) + "\n");
}

void writeFoldsAggregateCsv(const std::filesystem::path &path, const std::vector<FoldIterationAggregate> &iterations)
{
    std::ostringstream csv;
    csv << "iteration,folds,val_auc_mean,val_auc_sd,test_auc_mean,test_auc_sd,val_accuracy_mean,val_accuracy_sd,test_accuracy_mean,"
           "test_accuracy_sd\n";
    for (const FoldIterationAggregate &a : iterations) {
        csv << a.iteration << ',' << a.folds;
        for (const MeanSd *value : {&a.valAuc, &a.testAuc, &a.valAccuracy, &a.testAccuracy})
            csv << ',' << csvCell(*value, &MeanSd::mean) << ',' << csvCell(*value, &MeanSd::sd);
        csv << '\n';
    }
    writeFileAtomically(path, csv.str());
}

FoldsAggregate readFoldsAggregate(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ProjectError("Cannot read the ICMIL folds summary '" + path.string() + "'");
    try {
        const json j = json::parse(in);
        const int format = jsonGet<int>(j.at("format"));
        if (format != FoldsAggregate::kFormat)
            throw ProjectError("The ICMIL folds summary '" + path.string() + "' has format " + std::to_string(format)
                               + "; this version reads format " + std::to_string(FoldsAggregate::kFormat));
        FoldsAggregate aggregate;
        aggregate.name = j.at("name").get<std::string>();
        aggregate.folds = jsonGet<int>(j.at("folds"));
        aggregate.loops = j.at("loops").get<std::vector<std::string>>();
        if (aggregate.folds < 1 || static_cast<int>(aggregate.loops.size()) != aggregate.folds)
            throw Damaged("it names " + std::to_string(aggregate.loops.size()) + " loops for " + std::to_string(aggregate.folds)
                          + " folds");
        for (const json &i : j.at("iterations")) {
            FoldIterationAggregate a;
            a.iteration = jsonGet<int>(i.at("iteration"));
            a.folds = jsonGet<int>(i.at("folds"));
            if (a.folds < 1 || a.folds > aggregate.folds)
                throw Damaged("iteration " + std::to_string(a.iteration) + " counts " + std::to_string(a.folds) + " of "
                              + std::to_string(aggregate.folds) + " folds");
            a.valAuc = readMeanSd(i, "val_auc", a.folds);
            a.testAuc = readMeanSd(i, "test_auc", a.folds);
            a.valAucUndefined = jsonGet<int>(i.at("val_auc").at("undefined"));
            a.testAucUndefined = jsonGet<int>(i.at("test_auc").at("undefined"));
            a.valAccuracy = readMeanSd(i, "val_accuracy", a.folds);
            a.testAccuracy = readMeanSd(i, "test_accuracy", a.folds);
            aggregate.iterations.push_back(a);
        }
        return aggregate;
    } catch (const json::exception &error) {
        throw ProjectError("The ICMIL folds summary '" + path.string() + "' is damaged: " + error.what());
    } catch (const Damaged &error) {
        throw ProjectError("The ICMIL folds summary '" + path.string() + "' is damaged: " + error.what());
    }
}

} // namespace icmil::project
