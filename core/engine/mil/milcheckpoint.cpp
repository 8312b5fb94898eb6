// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/mil/milcheckpoint.h"

#include "engine/engineerror.h"
#include "engine/torchfile/statedictloader.h"
#include "engine/torchfile/torchfile.h"
#include "engine/torchfile/torchfilewriter.h"

#include <ATen/core/Dict.h>
#include <ATen/core/List.h>

#include <cmath>
#include <limits>

namespace icmil::engine {

namespace {

const char *const kFormatName = "icmil-studio-mil-checkpoint";
const char *const kSubmodules[] = {"dim_reduction", "attention", "classifier", "att_classifier"};

c10::impl::GenericDict stringKeyedDict()
{
    return c10::impl::GenericDict(c10::StringType::get(), c10::AnyType::get());
}

std::int64_t intAt(const PickleValue &meta, const char *key, std::int64_t fallback)
{
    const PickleValue *value = meta.find(key);
    return value ? value->toInt() : fallback;
}

double realAt(const PickleValue &meta, const char *key, double fallback)
{
    const PickleValue *value = meta.find(key);
    return value ? value->toDouble() : fallback;
}

std::string stringAt(const PickleValue &meta, const char *key)
{
    const PickleValue *value = meta.find(key);
    return value ? value->toStringRef() : std::string();
}

const torch::Tensor &requireTensor(const StateDict &weights, const std::string &key)
{
    const torch::Tensor *tensor = weights.find(key);
    if (!tensor)
        throw EngineError("no " + key + " (expected the ICMIL layout: dim_reduction, attention, classifier[, att_classifier])");
    if (tensor->dim() != 2)
        throw EngineError(key + " is not a matrix");
    return *tensor;
}

// The model a reference checkpoint describes, from its keys and shapes.
MilModelConfig inferReferenceConfig(const StateDict &weights, std::optional<MilModelType> type)
{
    MilModelConfig config;
    const torch::Tensor &fc1 = requireTensor(weights, "dim_reduction.fc1.weight");
    const torch::Tensor &fc = requireTensor(weights, "classifier.fc.weight");
    config.inputDim = fc1.size(1);
    config.embedDim = fc1.size(0);
    config.classes = static_cast<int>(fc.size(0));
    config.residualBlocks = 0;
    while (weights.contains("dim_reduction.resBlocks." + std::to_string(config.residualBlocks) + ".block.0.weight"))
        ++config.residualBlocks;
    if (type)
        config.type = *type;
    else if (!weights.withPrefix("att_classifier.").empty())
        config.type = MilModelType::Dtfd;
    else if (!weights.withPrefix("attention.").empty())
        config.type = MilModelType::Abmil;
    else
        config.type = MilModelType::MaxPool;
    if (const torch::Tensor *v = weights.find("attention.attention_V.0.weight"))
        config.attentionDim = v->size(0);
    else if (const torch::Tensor *tier2 = weights.find("att_classifier.attention.attention_V.0.weight"))
        config.attentionDim = tier2->size(0);
    return config;
}

void readOurs(const PickleValue &root, const PickleValue &meta, MilCheckpoint &checkpoint)
{
    if (stringAt(meta, "format") != kFormatName)
        throw EngineError("its icmil_studio entry is not a MIL checkpoint's");
    checkpoint.formatVersion = static_cast<int>(intAt(meta, "format_version", 0));
    if (checkpoint.formatVersion < 1 || checkpoint.formatVersion > kMilCheckpointFormatVersion)
        throw EngineError("format version " + std::to_string(checkpoint.formatVersion) + " is not supported (this build reads 1 to "
                          + std::to_string(kMilCheckpointFormatVersion) + "); a newer ICMIL Studio wrote it");
    MilModelConfig &config = checkpoint.model;
    config.type = parseMilModelType(stringAt(meta, "model_type"));
    config.inputDim = intAt(meta, "input_dim", config.inputDim);
    config.embedDim = intAt(meta, "embed_dim", config.embedDim);
    config.attentionDim = intAt(meta, "attention_dim", config.attentionDim);
    config.classes = static_cast<int>(intAt(meta, "classes", config.classes));
    config.residualBlocks = static_cast<int>(intAt(meta, "residual_blocks", 0));
    config.dropout = realAt(meta, "dropout", 0.0);
    config.dropoutTier2 = realAt(meta, "dropout_tier2", 0.0);
    config.pseudoBags = static_cast<int>(intAt(meta, "pseudo_bags", config.pseudoBags));
    config.distillation = parseDtfdDistillation(meta.find("distillation") ? stringAt(meta, "distillation") : "AFS");
    config.distilledInstances = static_cast<int>(intAt(meta, "distilled_instances", config.distilledInstances));
    config.seed = static_cast<std::uint64_t>(intAt(meta, "seed", 0));
    if (const PickleValue *names = meta.find("class_names"))
        for (const PickleValue &name : names->items())
            checkpoint.classNames.push_back(name.toStringRef());
    checkpoint.epoch = static_cast<int>(intAt(meta, "epoch", -1));
    const double threshold = realAt(meta, "threshold", std::numeric_limits<double>::quiet_NaN());
    if (!std::isnan(threshold))
        checkpoint.threshold = threshold;
    checkpoint.trainingConfigJson = stringAt(meta, "training_config");
    checkpoint.metricsJson = stringAt(meta, "metrics");
    if (const PickleValue *optimizer = root.find("optimizer"))
        checkpoint.optimizer = flattenTensors(*optimizer);
    if (const PickleValue *rates = root.find("optimizer_lr"))
        for (const PickleValue &rate : rates->items())
            checkpoint.optimizerLearningRates.push_back(rate.toDouble());
}

} // namespace

MilCheckpoint makeMilCheckpoint(const MilModel &model)
{
    MilCheckpoint checkpoint;
    checkpoint.model = model.config();
    const StateDict state = moduleStateDict(model);
    for (const auto &[key, tensor] : state.entries())
        checkpoint.weights.insert(key, tensor.detach().to(torch::kCPU, /*non_blocking=*/false, /*copy=*/true));
    return checkpoint;
}

void writeMilCheckpoint(const std::filesystem::path &path, const MilCheckpoint &checkpoint)
{
    const MilModelConfig &config = checkpoint.model;
    c10::impl::GenericDict root = stringKeyedDict();
    for (const char *submodule : kSubmodules) {
        const StateDict part = checkpoint.weights.withPrefix(std::string(submodule) + ".");
        if (part.empty() && !(std::string(submodule) == "attention" && config.type == MilModelType::MaxPool))
            continue;
        c10::Dict<std::string, at::Tensor> dict; // MaxPool keeps the reference's empty "attention"
        for (const auto &[key, tensor] : part.entries())
            dict.insert(key, tensor.detach().cpu());
        root.insert(submodule, dict);
    }

    c10::impl::GenericDict meta = stringKeyedDict();
    meta.insert("format", std::string(kFormatName));
    meta.insert("format_version", static_cast<std::int64_t>(kMilCheckpointFormatVersion));
    meta.insert("model_type", milModelTypeName(config.type));
    meta.insert("input_dim", config.inputDim);
    meta.insert("embed_dim", config.embedDim);
    meta.insert("attention_dim", config.attentionDim);
    meta.insert("classes", static_cast<std::int64_t>(config.classes));
    meta.insert("residual_blocks", static_cast<std::int64_t>(config.residualBlocks));
    meta.insert("dropout", config.dropout);
    meta.insert("dropout_tier2", config.dropoutTier2);
    meta.insert("pseudo_bags", static_cast<std::int64_t>(config.pseudoBags));
    meta.insert("distillation", dtfdDistillationName(config.distillation));
    meta.insert("distilled_instances", static_cast<std::int64_t>(config.distilledInstances));
    meta.insert("seed", static_cast<std::int64_t>(config.seed));
    c10::List<std::string> names;
    for (const std::string &name : checkpoint.classNames)
        names.push_back(name);
    meta.insert("class_names", names);
    meta.insert("epoch", static_cast<std::int64_t>(checkpoint.epoch));
    meta.insert("threshold", checkpoint.threshold.value_or(std::numeric_limits<double>::quiet_NaN()));
    meta.insert("training_config", checkpoint.trainingConfigJson);
    meta.insert("metrics", checkpoint.metricsJson);
    root.insert("icmil_studio", meta);

    if (!checkpoint.optimizer.empty()) {
        c10::Dict<std::string, at::Tensor> optimizer;
        for (const auto &[key, tensor] : checkpoint.optimizer.entries())
            optimizer.insert(key, tensor.detach().cpu());
        root.insert("optimizer", optimizer);
        c10::List<double> rates;
        for (double rate : checkpoint.optimizerLearningRates)
            rates.push_back(rate);
        root.insert("optimizer_lr", rates);
    }
    writeTorchFile(path, root);
}

MilCheckpoint readMilCheckpoint(const std::filesystem::path &path, std::optional<MilModelType> type)
{
    const PickleValue root = readTorchFile(path); // its errors already name the file
    try {
        if (!root.isDict())
            throw EngineError("it holds a " + root.typeName() + ", not a dict of state dicts");
        MilCheckpoint checkpoint;
        for (const char *submodule : kSubmodules)
            if (const PickleValue *part = root.find(submodule)) {
                const StateDict tensors = flattenTensors(*part, submodule);
                for (const auto &[key, tensor] : tensors.entries())
                    checkpoint.weights.insert(key, tensor);
            }
        if (const PickleValue *meta = root.find("icmil_studio"); meta && meta->isDict()) {
            readOurs(root, *meta, checkpoint);
            if (type && *type != checkpoint.model.type)
                throw EngineError("it holds a model of type " + milModelTypeName(checkpoint.model.type) + ", not "
                                  + milModelTypeName(*type));
        } else {
            checkpoint.formatVersion = 0;
            checkpoint.reference = true;
            checkpoint.model = inferReferenceConfig(checkpoint.weights, type);
        }
        requireTensor(checkpoint.weights, "dim_reduction.fc1.weight");
        requireFiniteTensors(checkpoint.weights);
        requireFiniteTensors(checkpoint.optimizer);
        // Fails here, with the loader's list of problems, rather than when the model is built.
        const auto model = makeMilModel(checkpoint.model);
        StateDictLoadOptions options;
        options.source = "Its weights";
        options.target = "the " + milModelTypeName(checkpoint.model.type) + " model";
        const StateDictLoadReport report = compareStateDict(*model, checkpoint.weights, options);
        if (!report.fits())
            throw EngineError(describeProblems(report, options));
        return checkpoint;
    } catch (const EngineError &error) {
        throw EngineError("Cannot read MIL checkpoint '" + path.string() + "': " + error.what());
    } catch (const c10::Error &error) {
        throw EngineError("Cannot read MIL checkpoint '" + path.string() + "': " + error.what_without_backtrace());
    }
}

std::shared_ptr<MilModel> instantiateMilModel(const MilCheckpoint &checkpoint, torch::Device device)
{
    auto model = makeMilModel(checkpoint.model);
    StateDictLoadOptions options;
    options.target = milModelTypeName(checkpoint.model.type);
    loadStateDict(*model, checkpoint.weights, options);
    model->to(device);
    model->eval();
    return model;
}

} // namespace icmil::engine
