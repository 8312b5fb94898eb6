// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/model/modelbundle.h"
#include "project/jsonvalue.h"

#include "engine/engineerror.h"
#include "engine/torchfile/randomaccessfile.h"
#include "engine/torchfile/storedziparchive.h"
#include "engine/torchfile/storedzipwriter.h"
#include "project/atomicfile.h"
#include "project/loop/icmilloopconfig.h"
#include "project/jsonnesting.h"
#include "project/projecterror.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iterator>
#include <random>

#include <stdlib.h>

namespace icmil::project {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char *kManifest = "model.json";
constexpr const char *kClassifier = "classifier.pth";
constexpr const char *kBuiltInEmbedder = "embedder.pth";
constexpr const char *kTorchScriptEmbedder = "embedder.pt";
constexpr const char *kTorchScriptSidecar = "embedder.json";
constexpr std::uint64_t kMaxManifest = 16u << 20;

std::string quoted(const fs::path &path)
{
    return "'" + path.string() + "'";
}

// A private folder that is removed with everything in it when the object goes away.
class ScratchDir {
public:
    ScratchDir()
    {
        std::string pattern = (fs::temp_directory_path() / "icmil-model-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr)
            throw ProjectError("Cannot create a temporary folder in '" + fs::temp_directory_path().string() + "'");
        m_path = pattern;
    }
    ~ScratchDir()
    {
        std::error_code ignored;
        fs::remove_all(m_path, ignored);
    }
    ScratchDir(const ScratchDir &) = delete;
    ScratchDir &operator=(const ScratchDir &) = delete;
    const fs::path &path() const { return m_path; }

private:
    fs::path m_path;
};

std::string fileBytes(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ProjectError("Cannot read " + quoted(path));
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeBytes(const fs::path &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush())
        throw ProjectError("Cannot write " + quoted(path));
}

json manifestJson(const ModelBundleInfo &info)
{
    json provenance = info.provenanceJson.empty() ? json::object() : json::parse(info.provenanceJson);
    return {{"format", kModelBundleFormat},
            {"format_version", kModelBundleFormatVersion},
            {"name", info.name},
            {"encoder", info.encoder},
            {"embedder",
             {{"kind", info.torchScript ? "torchscript" : "built-in"},
              {"name", info.embedderName},
              {"file", info.torchScript ? kTorchScriptEmbedder : kBuiltInEmbedder},
              {"feature_dim", info.featureDim},
              {"input_size", info.inputSize}}},
            {"classifier", {{"file", kClassifier}, {"type", engine::milModelTypeName(info.modelType)}}},
            {"class_names", info.classNames},
            {"threshold", info.threshold ? json(*info.threshold) : json(nullptr)},
            {"preprocessing", json::parse(preprocessingJson(info.preprocessing))},
            {"provenance", provenance}};
}

// An opened bundle: its archive and model.json, checked for format and version.
struct OpenedBundle {
    fs::path path;
    engine::RandomAccessFile file;
    engine::StoredZipArchive archive;
    ModelBundleInfo info;

    explicit OpenedBundle(const fs::path &bundle) : path(bundle), file(open(bundle)), archive(zip(file, bundle)), info(readInfo()) { }

    static engine::RandomAccessFile open(const fs::path &bundle)
    {
        if (!fs::exists(bundle))
            throw ProjectError("Model bundle " + quoted(bundle) + " does not exist");
        try {
            return engine::RandomAccessFile(bundle);
        } catch (const std::exception &e) {
            throw ProjectError("Cannot read model bundle " + quoted(bundle) + ": " + e.what());
        }
    }
    static engine::StoredZipArchive zip(const engine::RandomAccessFile &file, const fs::path &bundle)
    {
        try {
            return engine::StoredZipArchive(file);
        } catch (const std::exception &e) {
            throw ProjectError(quoted(bundle) + " is not an ICMIL model bundle: " + e.what());
        }
    }

    [[noreturn]] void incomplete(const std::string &member) const
    {
        throw ProjectError("Model bundle " + quoted(path) + " is incomplete: it has no " + member);
    }

    std::string member(const std::string &name, std::uint64_t maxSize = ~std::uint64_t{0}) const
    {
        const engine::StoredZipArchive::Entry *entry = archive.find(name);
        if (!entry)
            incomplete(name);
        try {
            return archive.readSmall(*entry, maxSize);
        } catch (const std::exception &e) {
            throw ProjectError("Model bundle " + quoted(path) + ": " + e.what());
        }
    }

    ModelBundleInfo readInfo() const
    {
        json manifest;
        try {
            manifest = json::parse(member(kManifest, kMaxManifest),
                                   jsonNestingLimit("Model bundle " + quoted(path) + " has an unreadable model.json: "));
        } catch (const json::exception &e) {
            throw ProjectError("Model bundle " + quoted(path) + " has an unreadable model.json: " + e.what());
        }
        if (!manifest.is_object() || manifest.value("format", std::string()) != kModelBundleFormat)
            throw ProjectError(quoted(path) + " is not an ICMIL model bundle: its model.json does not say format \"" + kModelBundleFormat
                               + "\"");
        ModelBundleInfo result;
        try {
            result.formatVersion = jsonGet<int>(manifest.at("format_version"));
            if (result.formatVersion != kModelBundleFormatVersion)
                throw ProjectError("Model bundle " + quoted(path) + " has format version " + std::to_string(result.formatVersion)
                                   + "; this ICMIL Studio reads version " + std::to_string(kModelBundleFormatVersion)
                                   + (result.formatVersion > kModelBundleFormatVersion ? " (a newer ICMIL Studio made it)" : ""));
            result.name = manifest.value("name", std::string());
            result.encoder = manifest.at("encoder").get<std::string>();
            const json &embedder = manifest.at("embedder");
            result.torchScript = embedder.at("kind").get<std::string>() == "torchscript";
            result.embedderName = embedder.at("name").get<std::string>();
            result.featureDim = jsonGet<int>(embedder.at("feature_dim"));
            result.inputSize = jsonGet<int>(embedder.at("input_size"));
            result.modelType = engine::parseMilModelType(manifest.at("classifier").at("type").get<std::string>());
            result.classNames = manifest.at("class_names").get<std::vector<std::string>>();
            const json &threshold = manifest.at("threshold");
            if (!threshold.is_null())
                result.threshold = threshold.get<double>();
            result.preprocessing = preprocessingFromJson(manifest.at("preprocessing").dump());
            result.provenanceJson = manifest.value("provenance", json::object()).dump();
        } catch (const ProjectError &) {
            throw;
        } catch (const std::exception &e) {
            throw ProjectError("Model bundle " + quoted(path) + " has an unreadable model.json: " + e.what());
        }
        if (result.encoder.empty() || result.classNames.size() < 2)
            throw ProjectError("Model bundle " + quoted(path)
                               + " has an unreadable model.json: it names no encoder or fewer than 2 classes");
        return result;
    }
};

} // namespace

std::string preprocessingJson(const ExtractionConfig &config)
{
    IcmilLoopConfig loop;
    loop.extraction = config;
    loop.extraction.tiling.roiClasses.clear();
    loop.extraction.tiling.excludeClasses.clear();
    const json saved = json::parse(loopSettingsJson(loop));
    json tissue = saved.at("tissue");
    tissue.erase("roi");
    tissue.erase("exclude");
    return json{
        {"patches", saved.at("patches")}, {"tissue", tissue}, {"stain_normalisation", saved.at("extraction").at("stain_normalisation")}}
        .dump();
}

ExtractionConfig preprocessingFromJson(const std::string &text)
{
    const json stored = json::parse(text);
    const json settings = {{"patches", stored.at("patches")},
                           {"tissue", stored.at("tissue")},
                           {"extraction", {{"stain_normalisation", stored.at("stain_normalisation")}}}};
    return loopConfigFromSettings(settings.dump(), IcmilLoopConfig{}).extraction;
}

void writeModelBundle(const fs::path &path, const engine::Embedder &embedder, const engine::MilCheckpoint &classifier,
                      const ModelBundleInfo &info)
{
    std::string bytes;
    try {
        const ScratchDir scratch;
        std::vector<engine::StoredZipMember> members;
        members.push_back({kManifest, manifestJson(info).dump(2) + "\n"});
        if (info.torchScript) {
            embedder.save(scratch.path() / kTorchScriptEmbedder);
            members.push_back({kTorchScriptEmbedder, fileBytes(scratch.path() / kTorchScriptEmbedder)});
            members.push_back({kTorchScriptSidecar, fileBytes(scratch.path() / kTorchScriptSidecar)});
        } else {
            embedder.save(scratch.path() / kBuiltInEmbedder);
            members.push_back({kBuiltInEmbedder, fileBytes(scratch.path() / kBuiltInEmbedder)});
        }
        engine::writeMilCheckpoint(scratch.path() / kClassifier, classifier);
        members.push_back({kClassifier, fileBytes(scratch.path() / kClassifier)});
        bytes = engine::makeStoredZip(members);
        if (path.has_parent_path())
            fs::create_directories(path.parent_path());
    } catch (const std::exception &e) {
        throw ProjectError("Cannot write model bundle " + quoted(path) + ": " + e.what());
    }
    writeFileAtomically(path, bytes); // "Cannot write 'x': <cause>"
}

ModelBundleInfo readModelBundleInfo(const fs::path &path)
{
    return OpenedBundle(path).info;
}

LoadedModelBundle readModelBundle(const fs::path &path)
{
    const OpenedBundle bundle(path);
    LoadedModelBundle loaded;
    loaded.info = bundle.info;
    const ModelBundleInfo &info = loaded.info;
    const ScratchDir scratch;

    engine::EmbedderConfig embedderConfig;
    if (info.torchScript) {
        writeBytes(scratch.path() / kTorchScriptEmbedder, bundle.member(kTorchScriptEmbedder));
        writeBytes(scratch.path() / kTorchScriptSidecar, bundle.member(kTorchScriptSidecar));
        embedderConfig.name = (scratch.path() / kTorchScriptEmbedder).string();
    } else {
        writeBytes(scratch.path() / kBuiltInEmbedder, bundle.member(kBuiltInEmbedder));
        embedderConfig.name = info.embedderName;
        embedderConfig.weights = scratch.path() / kBuiltInEmbedder;
    }
    writeBytes(scratch.path() / kClassifier, bundle.member(kClassifier));
    try {
        loaded.classifier = engine::readMilCheckpoint(scratch.path() / kClassifier);
    } catch (const std::exception &e) {
        throw ProjectError("Model bundle " + quoted(path) + " has a classifier that cannot be read: " + e.what());
    }
    try {
        loaded.embedder = engine::makeEmbedder(embedderConfig);
    } catch (const std::exception &e) {
        throw ProjectError("Model bundle " + quoted(path) + " has an embedder that cannot be read: " + e.what());
    }

    const int classes = loaded.classifier.model.classes;
    if (static_cast<int>(info.classNames.size()) != classes)
        throw ProjectError("Model bundle " + quoted(path) + " names " + std::to_string(info.classNames.size())
                           + " classes, but its classifier has " + std::to_string(classes));
    if (info.modelType != loaded.classifier.model.type)
        throw ProjectError("Model bundle " + quoted(path) + " says its classifier is " + engine::milModelTypeName(info.modelType)
                           + ", but classifier.pth holds " + engine::milModelTypeName(loaded.classifier.model.type));
    const int width = loaded.embedder->featureDim();
    if (width != loaded.classifier.model.inputDim)
        throw ProjectError("Model bundle " + quoted(path) + " does not fit together: its embedder gives " + std::to_string(width)
                           + " features per patch, but its classifier takes " + std::to_string(loaded.classifier.model.inputDim));
    if (width != info.featureDim || loaded.embedder->inputSize() != info.inputSize)
        throw ProjectError("Model bundle " + quoted(path) + " does not fit together: model.json says the embedder takes "
                           + std::to_string(info.inputSize) + " px patches to " + std::to_string(info.featureDim)
                           + " features, but its embedder file takes " + std::to_string(loaded.embedder->inputSize()) + " px to "
                           + std::to_string(width));
    return loaded;
}

} // namespace icmil::project
