// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/model/bundleprediction.h"

#include "engine/distributed/distributedgroup.h"
#include "engine/engineerror.h"
#include "engine/runtime/runtime.h"
#include "project/dataset/labelstable.h"
#include "project/dataset/slideshare.h"
#include "project/export/wholeslideheatmap.h"
#include "project/features/distributedextraction.h"
#include "project/features/featureextractor.h"
#include "project/projectcatalog.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"
#include "project/training/attentionstore.h"
#include "project/training/milprediction.h"
#include "slide/io/slidesource.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <set>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

double secondsSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

bool isListFile(const fs::path &path)
{
    const std::string extension = path.extension().string();
    return fs::is_regular_file(path) && (extension == ".txt" || extension == ".lst");
}

} // namespace

std::vector<SlideEntry> slidesToPredict(const fs::path &location, std::vector<std::string> &problems)
{
    if (!isListFile(location)) {
        SlideListing listing = listSlides(location);
        problems.insert(problems.end(), listing.problems.begin(), listing.problems.end());
        return std::move(listing.slides);
    }
    std::ifstream in(location);
    std::vector<SlideEntry> slides;
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (const auto hash = line.find('#'); hash != std::string::npos)
            line.erase(hash);
        line.erase(0, line.find_first_not_of(" \t\r"));
        line.erase(line.find_last_not_of(" \t\r") + 1);
        if (line.empty())
            continue;
        fs::path path = line;
        if (path.is_relative())
            path = location.parent_path() / path;
        if (!fs::is_regular_file(path)) {
            problems.push_back(location.filename().string() + " line " + std::to_string(number) + ": no slide file '" + path.string()
                               + "'");
            continue;
        }
        slides.push_back({path.stem().string(), path});
    }
    return slides;
}

BundlePredictionJob::BundlePredictionJob(BundlePredictionConfig config, engine::DistributedGroup *group)
    : m_config(std::move(config)), m_group(group)
{ }

void BundlePredictionJob::cancel()
{
    m_cancelled = true;
    const std::lock_guard lock(m_mutex);
    if (m_extractor)
        m_extractor->cancel();
}

BundlePredictionResult BundlePredictionJob::run(const BundlePredictionEvents &events)
{
    auto say = [&](const std::string &text) {
        if (events.message)
            events.message(text);
    };
    if (m_config.slides.empty())
        throw ProjectError("No slides to predict");
    std::set<std::string> ids;
    for (const SlideEntry &slide : m_config.slides)
        if (!ids.insert(slide.slideId).second)
            throw ProjectError("Two slides have the id '" + slide.slideId + "': predictions are named by slide id, so rename one");
    std::optional<LabelsTable> labels;
    if (!m_config.labelsCsv.empty())
        labels = LabelsTable::read(m_config.labelsCsv);

    LoadedModelBundle bundle = readModelBundle(m_config.bundle);
    BundlePredictionResult result;
    result.info = bundle.info;
    const ModelBundleInfo &info = result.info;

    // An output folder is a prediction's own: never a training project, whose settings
    // (icmil-project.json) it would point at other slides.
    std::error_code error;
    const bool hasLoops = fs::exists(m_config.outDir / "icmil", error);
    bool hasOtherRuns = false;
    for (const auto &entry : fs::directory_iterator(ProjectLayout(m_config.outDir).runsDir(), error))
        hasOtherRuns = hasOtherRuns || entry.path().filename() != kBundlePredictionRun;
    if (hasLoops || hasOtherRuns)
        throw ProjectError("'" + m_config.outDir.string() + "' is a training project (it has " + (hasLoops ? "ICMIL loops" : "other runs")
                           + "): choose an empty folder, or one an earlier prediction made");
    const bool leader = !m_group || m_group->rank() == 0;
    fs::create_directories(m_config.outDir);
    if (leader && !m_config.slidesLocation.empty())
        recordProjectInputs(m_config.outDir, m_config.slidesLocation, m_config.labelsCsv);

    ExtractionConfig extraction = info.preprocessing;
    extraction.projectDir = m_config.outDir;
    extraction.embedder.name = info.embedderName;
    extraction.encoderName = info.encoder;
    extraction.device = m_config.device;
    extraction.batchSize = m_config.batchSize;
    extraction.readerThreads = m_config.readerThreads;
    extraction.halfPrecision = m_config.halfPrecision;
    extraction.overwrite = false;
    FeatureExtractor extractor(extraction, std::move(bundle.embedder));
    result.device = extractor.embedder().device().str();
    if (events.extraction)
        extractor.setProgressCallback(events.extraction);
    extractor.setMessageCallback(say);
    {
        const std::lock_guard lock(m_mutex);
        m_extractor = &extractor;
    }
    if (m_cancelled)
        extractor.cancel();
    const auto extractStart = std::chrono::steady_clock::now();
    ExtractionReport report;
    try {
        if (m_group) { // each rank its share, then every rank the whole report
            const std::vector<SlideEntry> share = slideShare(m_config.slides, m_group->rank(), m_group->worldSize());
            report = gatherExtractionReports(*m_group, "icmil/predict/extract", extractor.run(share), m_config.slides);
        } else {
            report = extractor.run(m_config.slides);
        }
    } catch (...) {
        const std::lock_guard lock(m_mutex);
        m_extractor = nullptr;
        throw;
    }
    {
        const std::lock_guard lock(m_mutex);
        m_extractor = nullptr;
    }
    result.extractSeconds = secondsSince(extractStart);
    if (report.cancelled || m_cancelled) {
        result.cancelled = true;
        return result;
    }
    if (!leader) { // rank 0 predicts and writes; this rank's part is done
        for (const SlideExtraction &slide : report.slides) {
            if (slide.status == SlideExtraction::Status::Failed)
                result.failed.push_back({slide.slideId, slide.message});
            else
                (slide.status == SlideExtraction::Status::Extracted ? result.extracted : result.reused)++;
        }
        result.predicted = false;
        return result;
    }

    std::vector<PredictionTarget> targets;
    std::map<std::string, fs::path> slideFiles;
    for (const SlideEntry &slide : m_config.slides)
        slideFiles[slide.slideId] = slide.path;
    const ProjectLayout layout(m_config.outDir);
    for (const SlideExtraction &slide : report.slides) {
        if (slide.status == SlideExtraction::Status::Failed) {
            result.failed.push_back({slide.slideId, slide.message});
            continue;
        }
        (slide.status == SlideExtraction::Status::Extracted ? result.extracted : result.reused)++;
        if (slide.patches == 0) {
            result.withoutPatches.push_back(slide.slideId);
            continue;
        }
        PredictionTarget target;
        target.slideId = slide.slideId;
        target.caseId = slide.slideId;
        target.featureFile = layout.featureFile(info.encoder, slide.slideId);
        if (labels) {
            if (const auto row = labels->find(slide.slideId)) {
                target.caseId = row->caseId;
                target.label = row->label;
                target.split = row->split;
                const auto found = std::find(info.classNames.begin(), info.classNames.end(), row->label);
                target.labelIndex = found == info.classNames.end() ? -1 : static_cast<int>(found - info.classNames.begin());
            }
        }
        targets.push_back(std::move(target));
    }

    const auto predictStart = std::chrono::steady_clock::now();
    auto model = engine::instantiateMilModel(bundle.classifier, extractor.embedder().device());
    const PredictionOutput output{m_config.outDir, info.encoder, kBundlePredictionRun, info.classNames, info.threshold};
    result.table.run = kBundlePredictionRun;
    result.table.modelType = engine::milModelTypeName(info.modelType);
    result.table.encoder = info.encoder;
    result.table.classNames = info.classNames;
    result.table.threshold = info.threshold;
    result.attentionDir = layout.attentionDir(info.encoder, kBundlePredictionRun);
    for (std::size_t i = 0; i < targets.size(); ++i) {
        if (m_cancelled) {
            result.cancelled = true;
            return result;
        }
        try {
            PredictionTable one = predictSlides(*model, {targets[i]}, output);
            result.patches += one.rows.front().patches;
            result.table.rows.push_back(std::move(one.rows.front()));
        } catch (const std::exception &e) {
            result.failed.push_back({targets[i].slideId, e.what()});
            continue;
        }
        if (m_config.heatmaps) {
            // The attention over the slide; a heatmap that cannot be drawn costs the picture only.
            const fs::path picture = m_config.outDir / "heatmaps" / (targets[i].slideId + "_heatmap.png");
            try {
                fs::create_directories(picture.parent_path());
                WholeSlideHeatmapOptions options;
                options.downsample = m_config.heatmapDownsample;
                options.overlay = true;
                const SlideAttention attention
                    = readAttentionFile(layout.attentionFile(info.encoder, kBundlePredictionRun, targets[i].slideId));
                writeWholeSlideHeatmap(*slide::SlideSource::open(slideFiles.at(targets[i].slideId)), attention, options, picture);
                if (result.heatmaps.empty())
                    writeHeatmapLegend(picture.parent_path() / "legend.png", options);
                result.heatmaps.push_back(picture);
            } catch (const std::exception &e) {
                say("No heatmap for " + targets[i].slideId + ": " + e.what());
            }
        }
        if (events.prediction)
            events.prediction(static_cast<int>(i) + 1, static_cast<int>(targets.size()), targets[i].slideId);
    }
    result.predictSeconds = secondsSince(predictStart);
    writeRunPredictions(layout.runDir(kBundlePredictionRun), result.table);
    result.predictionsCsv = m_config.outDir / "predictions.csv";
    writePredictionsCsv(result.predictionsCsv, result.table);
    return result;
}

} // namespace icmil::project
