// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/dataset/syntheticdataset.h"
#include "project/jsonvalue.h"

#include "project/atomicfile.h"
#include "project/dataset/labelstable.h"
#include "project/projecterror.h"
#include "slide/synthetic/syntheticslidewriter.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace icmil::project {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr int kManifestVersion = 2; // 2: presets, mimics and site facts

std::uint64_t splitMix64(std::uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// Which slides are positive: exactly round(N * fraction) of them, chosen by a seeded
// Fisher-Yates shuffle written out here so the choice is the same on every platform.
std::vector<bool> choosePositives(int count, double fraction, std::uint64_t seed)
{
    std::vector<int> order(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i)
        order[static_cast<std::size_t>(i)] = i;
    std::uint64_t state = seed ^ 0x5EEDF00Dull;
    for (int i = count - 1; i > 0; --i) {
        state = splitMix64(state);
        const int j = static_cast<int>(state % static_cast<std::uint64_t>(i + 1));
        std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
    }
    const int positives = static_cast<int>(std::lround(fraction * count));
    std::vector<bool> positive(static_cast<std::size_t>(count), false);
    for (int k = 0; k < positives; ++k)
        positive[static_cast<std::size_t>(order[static_cast<std::size_t>(k)])] = true;
    return positive;
}

json configJson(const SyntheticDatasetConfig &c)
{
    return json{{"slides", c.slides},
                {"seed", c.seed},
                {"width", c.width},
                {"height", c.height},
                {"positive_fraction", c.positiveFraction},
                {"preset", slide::presetName(c.preset)}};
}

// The previous run's manifest when it was made with the same settings, else null.
json reusableManifest(const fs::path &manifestPath, const json &config)
{
    std::ifstream in(manifestPath);
    if (!in)
        return nullptr;
    try {
        json manifest = json::parse(in);
        if (manifest.contains("version") && jsonGet<int>(manifest.at("version")) == kManifestVersion && manifest.at("config") == config)
            return manifest;
    } catch (const json::exception &) {
        // A damaged manifest is simply regenerated.
    }
    return nullptr;
}

} // namespace

SyntheticDataset::SyntheticDataset(SyntheticDatasetConfig config) : m_config(std::move(config))
{ }

bool SyntheticDataset::madeWith(const fs::path &dir, const SyntheticDatasetConfig &config)
{
    return !reusableManifest(dir / "dataset.json", configJson(config)).is_null();
}

void SyntheticDataset::cancel()
{
    m_cancelled = true;
    std::lock_guard lock(m_writerMutex);
    if (m_activeWriter != nullptr)
        m_activeWriter->cancel();
}

SyntheticDatasetResult SyntheticDataset::generate(const ProgressCallback &progress)
{
    const SyntheticDatasetConfig &c = m_config;
    if (c.outputDir.empty())
        throw ProjectError("Cannot generate a synthetic dataset: no output folder given");
    if (c.slides < 1 || c.slides > 10000)
        throw ProjectError("Cannot generate a synthetic dataset: the number of slides must be between 1 and 10000");
    if (!(c.positiveFraction >= 0.0 && c.positiveFraction <= 1.0))
        throw ProjectError("Cannot generate a synthetic dataset: the positive fraction must be between 0 and 1");

    const auto started = std::chrono::steady_clock::now();
    std::error_code ec;
    for (const char *sub : {"slides", "masks", "annotations"}) {
        fs::create_directories(c.outputDir / sub, ec);
        if (ec) {
            throw ProjectError("Cannot create folder '" + (c.outputDir / sub).string() + "': " + ec.message());
        }
    }

    SyntheticDatasetResult result;
    result.labelsPath = c.outputDir / "labels.csv";
    result.manifestPath = c.outputDir / "dataset.json";
    const json config = configJson(c);
    const json previous = reusableManifest(result.manifestPath, config);

    const std::vector<bool> positive = choosePositives(c.slides, c.positiveFraction, c.seed);
    LabelsTable labels;
    json slidesJson = json::array();
    for (int i = 0; i < c.slides; ++i) {
        if (m_cancelled)
            throw ProjectError("Synthetic dataset generation was cancelled");
        std::ostringstream id;
        id << "slide_" << std::setw(3) << std::setfill('0') << i;
        SyntheticSlideRecord record;
        record.slideId = id.str();
        record.caseId = "case_" + record.slideId.substr(6);
        record.label = positive[static_cast<std::size_t>(i)] ? "tumor" : "normal";
        record.slidePath = c.outputDir / "slides" / (record.slideId + ".svs");
        record.maskPath = c.outputDir / "masks" / (record.slideId + "_tumor.png");
        record.annotationPath = c.outputDir / "annotations" / (record.slideId + ".geojson");

        const json *old = nullptr;
        if (!previous.is_null() && previous.contains("slides") && previous["slides"].size() > static_cast<std::size_t>(i))
            old = &previous["slides"][static_cast<std::size_t>(i)];
        const bool reusable = old != nullptr && fs::exists(record.maskPath) && fs::exists(record.annotationPath)
            && fs::exists(record.slidePath) && fs::file_size(record.slidePath, ec) == old->value("file_bytes", std::uint64_t{0});
        if (reusable) {
            record.levelCount = (old->contains("levels") ? jsonGet<int>(old->at("levels")) : 0);
            record.fileBytes = old->value("file_bytes", std::uint64_t{0});
            record.tumourRegions = (old->contains("tumour_regions") ? jsonGet<int>(old->at("tumour_regions")) : 0);
            record.tissueFraction = old->value("tissue_fraction", 0.0);
            record.tumourFraction = old->value("tumour_fraction", 0.0);
            record.mimicFraction = old->value("mimic_fraction", 0.0);
            record.mimicRegions = (old->contains("mimic_regions") ? jsonGet<int>(old->at("mimic_regions")) : 0);
            record.germinalCentres = (old->contains("germinal_centres") ? jsonGet<int>(old->at("germinal_centres")) : 0);
            record.microMetastasesOnly = old->value("micro_metastases_only", false);
            record.centre = old->value("centre", 0);
            record.blurred = old->value("blurred", false);
            record.penStrokes = old->value("pen_strokes", 0);
            record.folds = old->value("folds", 0);
            record.seconds = 0.0;
            if (progress)
                progress(i, c.slides, 1.0);
        } else {
            slide::SyntheticSlideConfig sc;
            sc.width = c.width;
            sc.height = c.height;
            sc.seed = splitMix64(c.seed * 1000003ull + static_cast<std::uint64_t>(i));
            sc.positive = positive[static_cast<std::size_t>(i)];
            sc.preset = c.preset;
            sc.threads = c.threads;
            sc.slideId = record.slideId;
            slide::SyntheticSlideWriter writer(sc);
            {
                std::lock_guard lock(m_writerMutex);
                m_activeWriter = &writer;
            }
            if (m_cancelled)
                writer.cancel();
            slide::SyntheticSlideResult written;
            try {
                written = writer.write(record.slidePath, record.maskPath, record.annotationPath, [&](double f) {
                    if (progress)
                        progress(i, c.slides, f);
                });
            } catch (...) {
                std::lock_guard lock(m_writerMutex);
                m_activeWriter = nullptr;
                throw;
            }
            {
                std::lock_guard lock(m_writerMutex);
                m_activeWriter = nullptr;
            }
            record.levelCount = written.levelCount;
            record.fileBytes = written.fileBytes;
            record.tumourRegions = static_cast<int>(written.tumours.size());
            record.tissueFraction = written.tissueFraction;
            record.tumourFraction = written.tumourFraction;
            record.mimicFraction = written.mimicFraction;
            record.mimicRegions = written.mimicRegions;
            record.germinalCentres = written.germinalCentres;
            record.microMetastasesOnly = written.microMetastasesOnly;
            record.centre = written.centre;
            record.blurred = written.blurred;
            record.penStrokes = written.penStrokes;
            record.folds = written.folds;
            record.seconds = written.seconds;
        }

        labels.add({record.caseId, record.slideId, record.label, {}});
        slidesJson.push_back(json{{"slide_id", record.slideId},
                                  {"case_id", record.caseId},
                                  {"label", record.label},
                                  {"file", fs::relative(record.slidePath, c.outputDir).string()},
                                  {"mask", fs::relative(record.maskPath, c.outputDir).string()},
                                  {"annotations", fs::relative(record.annotationPath, c.outputDir).string()},
                                  {"levels", record.levelCount},
                                  {"file_bytes", record.fileBytes},
                                  {"tumour_regions", record.tumourRegions},
                                  {"tissue_fraction", record.tissueFraction},
                                  {"tumour_fraction", record.tumourFraction},
                                  {"micro_metastases_only", record.microMetastasesOnly},
                                  {"mimic_fraction", record.mimicFraction},
                                  {"mimic_regions", record.mimicRegions},
                                  {"germinal_centres", record.germinalCentres},
                                  {"centre", record.centre},
                                  {"blurred", record.blurred},
                                  {"pen_strokes", record.penStrokes},
                                  {"folds", record.folds}});
        result.slides.push_back(std::move(record));
    }

    labels.write(result.labelsPath);
    const json manifest{{"version", kManifestVersion},
                        {"generator", std::string("ICMIL Studio ") + ICMIL_VERSION},
                        {"config", config},
                        {"preset", slide::presetName(c.preset)},
                        {"mpp", slide::SyntheticSlideConfig{}.mpp},
                        {"objective_power", slide::SyntheticSlideConfig{}.objectivePower},
                        {"mask_downsample", slide::SyntheticSlideConfig{}.maskDownsample},
                        {"slides", slidesJson}};
    writeFileAtomically(result.manifestPath, manifest.dump(2) + "\n");
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

} // namespace icmil::project
