// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/statedictloader.h"

#include "engine/engineerror.h"

#include <torch/nn/module.h>

#include <algorithm>
#include <sstream>
#include <string_view>

namespace icmil::engine {

namespace {

constexpr std::string_view kDataParallelPrefix = "module.";
constexpr std::string_view kBatchCounterSuffix = ".num_batches_tracked";
constexpr std::size_t kProblemsShown = 5;

bool startsWith(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

bool endsWith(std::string_view text, std::string_view suffix)
{
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

std::string shapeText(const torch::Tensor &tensor)
{
    std::ostringstream text;
    text << tensor.sizes();
    return text.str();
}

void collect(const torch::nn::Module &module, const std::string &prefix, StateDict &into)
{
    for (const auto &item : module.named_parameters(/*recurse=*/false))
        into.insert(prefix + item.key(), item.value().detach());
    for (const auto &item : module.named_buffers(/*recurse=*/false))
        into.insert(prefix + item.key(), item.value().detach());
    for (const auto &child : module.named_children())
        collect(*child.value(), prefix + child.key() + ".", into);
}

// The file's entries with a DataParallel "module." prefix removed when every key has it.
StateDict withoutDataParallelPrefix(const StateDict &state, bool &stripped)
{
    stripped = !state.empty();
    for (const auto &entry : state.entries())
        stripped = stripped && startsWith(entry.first, kDataParallelPrefix);
    return stripped ? state.withPrefix(kDataParallelPrefix) : state;
}

std::string plural(std::size_t count, const std::string &word)
{
    return std::to_string(count) + " " + word + (count == 1 ? "" : "s");
}

StateDictLoadReport compare(const StateDict &model, const StateDict &file, const StateDictLoadOptions &options)
{
    StateDictLoadReport report;
    for (const auto &[key, expected] : model.entries()) {
        const torch::Tensor *found = file.find(key);
        if (!found || !found->defined()) {
            if (endsWith(key, kBatchCounterSuffix)) {
                report.defaulted.push_back(key);
                continue;
            }
            report.missing.push_back(key);
            report.problems.push_back("missing " + key);
        } else if (found->sizes() != expected.sizes()) {
            report.wrongShapes.push_back(key + ": expected " + shapeText(expected) + ", file has " + shapeText(*found));
            report.problems.push_back(report.wrongShapes.back());
        } else {
            report.loaded.push_back(key);
        }
    }
    for (const auto &entry : file.entries()) {
        if (model.contains(entry.first))
            continue;
        bool ignored = false;
        for (const auto &prefix : options.ignoredPrefixes)
            ignored = ignored || startsWith(entry.first, prefix);
        (ignored ? report.ignored : report.unexpected).push_back(entry.first);
    }
    return report;
}

} // namespace

StateDict moduleStateDict(const torch::nn::Module &module)
{
    StateDict state;
    collect(module, std::string(), state);
    return state;
}

StateDictLoadReport compareStateDict(const torch::nn::Module &module, const StateDict &state, const StateDictLoadOptions &options)
{
    bool stripped = false;
    const StateDict file = withoutDataParallelPrefix(state, stripped);
    StateDictLoadReport report = compare(moduleStateDict(module), file, options);
    report.strippedModulePrefix = stripped;
    return report;
}

StateDictLoadReport loadStateDict(torch::nn::Module &module, const StateDict &state, const StateDictLoadOptions &options)
{
    bool stripped = false;
    const StateDict file = withoutDataParallelPrefix(state, stripped);
    const StateDict model = moduleStateDict(module);
    StateDictLoadReport report = compare(model, file, options);
    report.strippedModulePrefix = stripped;
    if (!report.fits())
        throw EngineError(describeProblems(report, options));
    StateDict loaded;
    for (const auto &key : report.loaded)
        loaded.insert(key, *file.find(key));
    try {
        requireFiniteTensors(loaded);
    } catch (const EngineError &error) {
        throw EngineError(options.source + ": " + error.what());
    }

    torch::NoGradGuard noGrad;
    for (const auto &key : report.loaded)
        model.find(key)->copy_(*file.find(key)); // detached views share the module's storage
    for (const auto &key : report.defaulted)
        model.find(key)->zero_();
    return report;
}

void requireFiniteTensors(const StateDict &state)
{
    // In slices, so a large tensor's check needs little memory beside it.
    constexpr std::int64_t kSlice = std::int64_t{1} << 20;
    torch::NoGradGuard noGrad;
    for (const auto &[key, tensor] : state.entries()) {
        if (!tensor.defined() || !(tensor.is_floating_point() || tensor.is_complex()))
            continue;
        const torch::Tensor flat = tensor.detach().reshape({-1});
        for (std::int64_t start = 0; start < flat.numel(); start += kSlice) {
            torch::Tensor slice = flat.slice(0, start, std::min(flat.numel(), start + kSlice));
            if (slice.scalar_type() == torch::kHalf || slice.scalar_type() == torch::kBFloat16)
                slice = slice.to(torch::kFloat);
            if (!torch::isfinite(slice).all().item<bool>())
                throw EngineError("tensor '" + key + "' holds non-finite values (NaN or Inf): the checkpoint is damaged");
        }
    }
}

std::string describeProblems(const StateDictLoadReport &report, const StateDictLoadOptions &options)
{
    std::string text = options.source + " do not fit " + options.target + ": " + plural(report.problems.size(), "problem") + " ("
        + plural(report.missing.size(), "missing key") + ", " + plural(report.wrongShapes.size(), "wrong shape") + "): ";
    for (std::size_t i = 0; i < report.problems.size() && i < kProblemsShown; ++i)
        text += (i == 0 ? "" : "; ") + report.problems[i];
    if (report.problems.size() > kProblemsShown)
        text += "; and " + std::to_string(report.problems.size() - kProblemsShown) + " more";
    if (report.loaded.empty() && !report.unexpected.empty()) {
        text += ". None of the file's " + plural(report.unexpected.size() + report.ignored.size(), "key") + " match; the first is '"
            + report.unexpected.front() + "'";
    }
    return text;
}

} // namespace icmil::engine
