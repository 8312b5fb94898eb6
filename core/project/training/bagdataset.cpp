// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/training/bagdataset.h"

#include "project/features/featurestore.h"
#include "project/dataset/labelstable.h"
#include "project/projecterror.h"
#include "project/projectlayout.h"

#include <algorithm>
#include <map>
#include <set>

namespace icmil::project {

namespace fs = std::filesystem;

std::string missingFeaturesMessage(const std::vector<std::string> &missing, std::size_t total, const fs::path &featuresDir)
{
    return "No features for " + std::to_string(missing.size()) + " of " + std::to_string(total) + " slides in '" + featuresDir.string()
        + "': " + listSome(missing) + " (run icmil extract first)";
}

void throwOnLabelsIssues(const LabelsTable &table, const fs::path &labelsCsv)
{
    if (table.issues().empty())
        return;
    std::vector<std::string> problems;
    for (const LabelsIssue &issue : table.issues())
        problems.push_back("line " + std::to_string(issue.line) + ": " + issue.message);
    std::string text;
    for (std::size_t i = 0; i < problems.size() && i < 5; ++i)
        text += (i ? "; " : "") + problems[i];
    if (problems.size() > 5)
        text += "; and " + std::to_string(problems.size() - 5) + " more";
    throw ProjectError(labelsCsv.filename().string() + " has " + std::to_string(problems.size())
                       + (problems.size() == 1 ? " problem: " : " problems: ") + text);
}

BagDataset BagDataset::load(const BagDatasetConfig &config, const Progress &progress, const std::atomic_bool *cancel)
{
    const LabelsTable table = LabelsTable::read(config.labelsCsv);
    throwOnLabelsIssues(table, config.labelsCsv);

    BagDataset dataset;
    dataset.m_classNames = config.classNames.empty() ? table.classNames() : config.classNames;
    std::map<std::string, int> classIndex;
    for (std::size_t i = 0; i < dataset.m_classNames.size(); ++i)
        classIndex.emplace(dataset.m_classNames[i], static_cast<int>(i));
    for (const LabelledSlide &row : table.rows()) {
        if (!classIndex.count(row.label)) {
            std::string classes;
            for (const std::string &name : dataset.m_classNames)
                classes += (classes.empty() ? "" : ", ") + name;
            throw ProjectError("Slide '" + row.slideId + "' has label '" + row.label + "', which is not one of the classes " + classes);
        }
    }
    dataset.m_split = assignSplits(table, config.split);
    if (!config.leftOut.empty()) {
        const std::set<std::string> leftOut(config.leftOut.begin(), config.leftOut.end());
        std::erase_if(dataset.m_split.slides, [&](const SlideSplit &slide) { return leftOut.contains(slide.slideId); });
        if (dataset.m_split.slides.empty())
            throw ProjectError("Every slide of '" + config.labelsCsv.string() + "' is left out: nothing to train on");
    }

    const ProjectLayout layout(config.projectRoot);
    std::vector<std::string> missing;
    for (const SlideSplit &entry : dataset.m_split.slides) {
        DatasetSlide slide;
        slide.slideId = entry.slideId;
        slide.caseId = entry.caseId;
        slide.label = entry.label;
        slide.classIndex = classIndex.at(entry.label);
        slide.split = entry.split;
        slide.featureFile = layout.featureFile(config.encoder, entry.slideId);
        if (!fs::exists(slide.featureFile))
            missing.push_back(entry.slideId);
        dataset.m_slides.push_back(std::move(slide));
    }
    if (!missing.empty())
        throw ProjectError(missingFeaturesMessage(missing, dataset.m_slides.size(), layout.featuresDir(config.encoder)));

    const int total = static_cast<int>(dataset.m_slides.size());
    std::string firstSlide;
    for (int i = 0; i < total; ++i) {
        if (cancel && cancel->load()) {
            dataset.m_cancelled = true;
            return dataset;
        }
        DatasetSlide &slide = dataset.m_slides[static_cast<std::size_t>(i)];
        SlideFeatures features = readFeatureFile(slide.featureFile);
        if (features.count < 1) {
            if (!config.leaveOutWithoutPatches)
                throw ProjectError(noPatchesMessage(slide.slideId, slide.featureFile, features.attributes));
            dataset.m_withoutPatches.push_back(slide.slideId);
            if (progress)
                progress(i + 1, total);
            continue;
        }
        if (dataset.m_featureDim == 0) {
            dataset.m_featureDim = features.dim;
            firstSlide = slide.slideId;
        } else if (features.dim != dataset.m_featureDim) {
            throw ProjectError("Slide '" + slide.slideId + "' has " + std::to_string(features.dim) + " features per patch, slide '"
                               + firstSlide + "' " + std::to_string(dataset.m_featureDim));
        }
        slide.patches = features.count;
        slide.patchSizeLevel0 = features.attributes.level0PatchSize();
        torch::Tensor tensor = torch::from_blob(features.features.data(), {features.count, features.dim}, torch::kFloat).clone();
        dataset.m_bags.push_back(engine::Bag{slide.slideId, std::move(tensor), slide.classIndex});
        if (progress)
            progress(i + 1, total);
    }
    if (!dataset.m_withoutPatches.empty()) {
        // m_bags holds the others in order: dropping these keeps slides and bags aligned.
        const std::set<std::string> empty(dataset.m_withoutPatches.begin(), dataset.m_withoutPatches.end());
        std::erase_if(dataset.m_slides, [&](const DatasetSlide &slide) { return empty.contains(slide.slideId); });
        std::erase_if(dataset.m_split.slides, [&](const SlideSplit &slide) { return empty.contains(slide.slideId); });
        if (dataset.m_slides.empty())
            throw ProjectError("No slide of '" + config.labelsCsv.string() + "' has patches in '"
                               + layout.featuresDir(config.encoder).string() + "': " + listSome(dataset.m_withoutPatches));
    }
    return dataset;
}

std::vector<engine::Bag> BagDataset::bags(Split split) const
{
    std::vector<engine::Bag> selected;
    for (std::size_t i = 0; i < m_slides.size() && i < m_bags.size(); ++i)
        if (m_slides[i].split == split)
            selected.push_back(m_bags[i]);
    return selected;
}

} // namespace icmil::project
