// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/training/milprediction.h"

#include "engine/mil/bagevaluation.h"
#include "engine/engineerror.h"
#include "project/training/attentionstore.h"
#include "project/training/bagdataset.h"
#include "project/features/featurestore.h"
#include "project/dataset/labelstable.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"

#include <algorithm>
#include <set>

namespace icmil::project {

namespace fs = std::filesystem;

PredictionTable predictSlides(engine::MilModel &model, const std::vector<PredictionTarget> &targets, const PredictionOutput &output,
                              const PredictionProgress &progress, const std::atomic_bool *cancel)
{
    const ProjectLayout layout(output.projectRoot);
    PredictionTable table;
    table.run = output.run;
    table.modelType = engine::milModelTypeName(model.config().type);
    table.encoder = output.encoder;
    table.classNames = output.classNames;
    table.threshold = output.threshold;
    fs::create_directories(layout.attentionDir(output.encoder, output.run));
    const int total = static_cast<int>(targets.size());
    for (int i = 0; i < total; ++i) {
        if (cancel && cancel->load())
            break;
        const PredictionTarget &target = targets[static_cast<std::size_t>(i)];
        SlideFeatures features = readFeatureFile(target.featureFile);
        if (features.count < 1)
            throw ProjectError(noPatchesMessage(target.slideId, target.featureFile, features.attributes));
        engine::Bag bag{target.slideId, torch::from_blob(features.features.data(), {features.count, features.dim}, torch::kFloat), -1};
        engine::BagPrediction prediction;
        try {
            prediction = engine::predictBag(model, bag);
        } catch (const engine::EngineError &e) {
            throw ProjectError(e.what());
        }
        SlidePredictionRow row;
        row.slideId = target.slideId;
        row.caseId = target.caseId;
        row.label = target.label;
        row.split = target.split;
        row.labelIndex = target.labelIndex;
        row.probabilities = prediction.probabilities;
        row.predicted = decideClass(row.probabilities, output.threshold);
        row.patches = features.count;

        SlideAttention attention;
        attention.slideId = target.slideId;
        attention.coords = std::move(features.coords);
        attention.attention = std::move(prediction.attention);
        attention.attentionRaw = std::move(prediction.attentionRaw);
        attention.probabilities = row.probabilities;
        attention.instanceScores = std::move(prediction.instanceProbabilities);
        attention.classNames = output.classNames;
        attention.predicted = row.predicted;
        attention.modelType = table.modelType;
        attention.run = output.run;
        attention.encoder = output.encoder;
        attention.patchSizeLevel0 = features.attributes.level0PatchSize();
        writeAttentionFile(layout.attentionFile(output.encoder, output.run, target.slideId), attention);
        table.rows.push_back(std::move(row));
        if (progress)
            progress(i + 1, total, target.slideId);
    }
    return table;
}

void writeRunPredictions(const fs::path &runDir, const PredictionTable &table, int fold)
{
    fs::create_directories(runDir);
    writePredictionsCsv(runDir / "predictions.csv", table);
    writePredictionsJson(runDir / "predictions.json", table);
    const bool anyLabelled = std::any_of(table.rows.begin(), table.rows.end(), [](const auto &row) { return row.labelIndex >= 0; });
    const bool anyTest
        = std::any_of(table.rows.begin(), table.rows.end(), [](const auto &row) { return row.labelIndex >= 0 && row.split == "test"; });
    if (anyLabelled)
        writeClamFoldCsv(runDir / ("fold_" + std::to_string(fold) + ".csv"), table, anyTest ? "test" : "");
}

std::vector<std::string> projectEncoders(const fs::path &projectRoot)
{
    std::vector<std::string> encoders;
    std::error_code error;
    for (const auto &entry : fs::directory_iterator(projectRoot / "features", error)) {
        if (!entry.is_directory())
            continue;
        for (const auto &file : fs::directory_iterator(entry.path(), error)) {
            if (file.path().extension() == ".h5") {
                encoders.push_back(entry.path().filename().string());
                break;
            }
        }
    }
    std::sort(encoders.begin(), encoders.end());
    return encoders;
}

std::string chooseEncoder(const fs::path &projectRoot, const std::string &given)
{
    if (!given.empty())
        return given;
    const std::vector<std::string> encoders = projectEncoders(projectRoot);
    if (encoders.size() == 1)
        return encoders.front();
    if (encoders.empty())
        throw ProjectError("Project '" + projectRoot.string() + "' has no features (run icmil extract first)");
    throw ProjectError("Project '" + projectRoot.string() + "' has features of several encoders (" + listSome(encoders)
                       + "): choose one with --encoder");
}

MilPredictionJob::MilPredictionJob(MilPredictionConfig config) : m_config(std::move(config))
{ }

MilPredictionResult MilPredictionJob::run(const PredictionProgress &progress)
{
    m_cancelled.store(false);
    if (!fs::exists(m_config.checkpoint))
        throw ProjectError("Checkpoint '" + m_config.checkpoint.string() + "' does not exist");
    const engine::MilCheckpoint checkpoint = engine::readMilCheckpoint(m_config.checkpoint, m_config.type);

    const std::string encoder = chooseEncoder(m_config.projectRoot, m_config.encoder);
    const ProjectLayout layout(m_config.projectRoot);
    if (!fs::is_directory(layout.featuresDir(encoder)))
        throw ProjectError("Project '" + m_config.projectRoot.string() + "' has no features of encoder '" + encoder + "'");

    std::vector<std::string> classNames = checkpoint.classNames;
    if (classNames.empty())
        classNames = m_config.classNames;
    if (classNames.empty())
        for (int c = 0; c < checkpoint.model.classes; ++c)
            classNames.push_back(std::to_string(c));
    if (static_cast<int>(classNames.size()) != checkpoint.model.classes)
        throw ProjectError("The checkpoint has " + std::to_string(checkpoint.model.classes) + " classes, but "
                           + std::to_string(classNames.size()) + " class names were given");

    std::optional<LabelsTable> labels;
    if (!m_config.labelsCsv.empty())
        labels = LabelsTable::read(m_config.labelsCsv);

    // Every slide with features, labelled or not (labels only annotate the table); labelled
    // slides without features are reported, as are slides whose features have no patches.
    MilPredictionResult result;
    std::vector<std::string> slideIds = m_config.slideIds;
    const bool everySlide = slideIds.empty();
    if (everySlide) {
        std::vector<std::string> withFeatures;
        for (const auto &entry : fs::directory_iterator(layout.featuresDir(encoder)))
            if (entry.is_regular_file() && entry.path().extension() == ".h5")
                withFeatures.push_back(entry.path().stem().string());
        std::sort(withFeatures.begin(), withFeatures.end());
        // The labelled slides in the labels' order, then the unlabelled ones by name.
        std::set<std::string> labelled;
        if (labels) {
            for (const auto &row : labels->rows()) {
                if (!labelled.insert(row.slideId).second)
                    continue;
                if (std::binary_search(withFeatures.begin(), withFeatures.end(), row.slideId))
                    slideIds.push_back(row.slideId);
                else
                    result.skipped.push_back({row.slideId, "labelled, but has no features of encoder '" + encoder + "'"});
            }
        }
        for (const std::string &id : withFeatures)
            if (!labelled.count(id))
                slideIds.push_back(id);
    }
    if (slideIds.empty())
        throw ProjectError("No slides with features of encoder '" + encoder + "' to predict");

    std::vector<PredictionTarget> targets;
    std::vector<std::string> missing;
    for (const std::string &id : slideIds) {
        PredictionTarget target;
        target.slideId = id;
        target.caseId = id;
        target.featureFile = layout.featureFile(encoder, id);
        if (!fs::exists(target.featureFile)) {
            missing.push_back(id);
            continue;
        }
        if (describeFeatureFile(target.featureFile).count < 1) {
            result.skipped.push_back({id, "its features have no patches"});
            continue;
        }
        if (labels) {
            if (const auto row = labels->find(id)) {
                target.caseId = row->caseId;
                target.label = row->label;
                target.split = row->split;
                const auto found = std::find(classNames.begin(), classNames.end(), row->label);
                target.labelIndex = found == classNames.end() ? -1 : static_cast<int>(found - classNames.begin());
            }
        }
        targets.push_back(std::move(target));
    }
    if (!missing.empty())
        throw ProjectError(missingFeaturesMessage(missing, slideIds.size(), layout.featuresDir(encoder)));
    if (targets.empty())
        throw ProjectError("None of the " + std::to_string(slideIds.size()) + " slides with features of encoder '" + encoder
                           + "' has patches to predict");

    // Default run name: the checkpoint's; for a run's own checkpoint.pth / last.pth, the run's.
    std::string run = m_config.run;
    if (run.empty()) {
        const std::string stem = m_config.checkpoint.stem().string();
        const std::string parent = fs::absolute(m_config.checkpoint).parent_path().filename().string();
        run = (stem == "checkpoint" || stem == "last") && !parent.empty() ? parent : stem;
    }
    result.runDir = layout.runDir(run);
    auto model = engine::instantiateMilModel(checkpoint, m_config.device);
    PredictionOutput output{m_config.projectRoot, encoder, run, classNames, checkpoint.threshold};
    result.table = predictSlides(*model, targets, output, progress, &m_cancelled);
    result.cancelled = m_cancelled.load();
    if (!result.cancelled)
        writeRunPredictions(result.runDir, result.table);
    return result;
}

} // namespace icmil::project
