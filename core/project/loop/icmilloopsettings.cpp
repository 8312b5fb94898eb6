// SPDX-License-Identifier: GPL-3.0-or-later
// loopSettingsJson, a loop's settings as saved in its state, and loopConfigFromSettings, the
// same read back into a config: no LibTorch, so the app compares and restores a saved loop's
// settings without loading it. Keep the two in step: tst_icmilloop's
// savedSettingsReadBackAsTheyWereSaved round-trips every group.
#include "project/loop/icmilloopconfig.h"
#include "project/jsonvalue.h"

#include "project/features/stainsettings.h"
#include "project/projecterror.h"
#include "slide/tissue/tissuedetectionparams.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace icmil::project {

using json = nlohmann::json;

bool calibratesEmbedder(const IcmilLoopConfig &config)
{
    return config.calibrationPatches > 0 && config.embedder.weights.empty() && engine::isBuiltInEmbedder(config.embedder.name);
}

namespace {

// The stain settings key as JSON (null for none).
json stainJson(const engine::StainNormalisation &stain)
{
    const std::string key = stainSettingsKey(stain);
    return key.empty() ? json(nullptr) : json::parse(key);
}

} // namespace

std::string loopSettingsJson(const IcmilLoopConfig &c)
{
    const engine::DistillationConfig &d = c.fineTuning.distillation;
    const slide::PatchGridParams &grid = c.extraction.tiling.grid;
    json settings
        = {{"embedder",
            {{"name", c.embedder.name},
             {"weights", c.embedder.weights.string()},
             {"seed", c.embedder.seed},
             {"calibration_patches", calibratesEmbedder(c) ? c.calibrationPatches : 0}}},
           {"patches",
            {{"patch_size", grid.patchSize},
             {"magnification", grid.targetMagnification ? json(*grid.targetMagnification) : json(nullptr)},
             {"level", grid.level},
             {"overlap", grid.overlap},
             {"step", grid.step}}},
           {"tissue", json::parse(tissueSettingsKey(c.extraction.tiling))},
           {"extraction", {{"half_precision", c.extraction.halfPrecision}, {"stain_normalisation", stainJson(c.extraction.stain)}}},
           {"model",
            {{"type", engine::milModelTypeName(c.model.type)},
             {"embed_dim", c.model.embedDim},
             {"attention_dim", c.model.attentionDim},
             {"residual_blocks", c.model.residualBlocks},
             {"dropout", c.model.dropout},
             {"pseudo_bags", c.model.pseudoBags},
             {"distillation", engine::dtfdDistillationName(c.model.distillation)},
             {"seed", c.model.seed}}},
           {"trainer",
            {{"epochs", c.trainer.epochs},
             {"lr", c.trainer.learningRate},
             {"weight_decay", c.trainer.weightDecay},
             {"grad_clipping", c.trainer.gradientClip},
             {"milestones", c.trainer.lrMilestones},
             {"no_schedule", c.trainer.noSchedule},
             {"lr_decay", c.trainer.lrDecay},
             {"seed", c.trainer.seed},
             {"patience", c.trainer.earlyStoppingPatience}}},
           {"split",
            {{"val_fraction", c.split.valFraction},
             {"test_fraction", c.split.testFraction},
             {"seed", c.split.seed},
             {"folds", c.split.folds},
             {"fold", c.split.fold},
             {"use_csv_split", c.split.useCsvSplit},
             {"classes", c.classNames}}},
           {"finetune",
            {{"epochs", c.fineTuning.epochs},
             {"patches_per_epoch", c.fineTuning.patchesPerEpoch},
             {"validation_fraction", c.fineTuning.validationFraction},
             {"max_validation_patches", c.fineTuning.maxValidationPatches},
             {"batch_size", c.fineTuning.batchSize},
             {"seed", c.fineTuning.seed},
             {"lr", d.learningRate},
             {"weight_decay", d.weightDecay},
             {"grad_clipping", d.gradientClip},
             {"confidence", d.confidenceWeighted},
             {"beta", d.confidenceBeta},
             {"freeze_batch_norm", d.freezeBatchNorm},
             {"teacher_temperature", d.teacherTemperature},
             {"stain_jitter", d.augmentation.stainJitter},
             {"augmentation",
              {d.augmentation.horizontalFlipProbability, d.augmentation.verticalFlipProbability, d.augmentation.minScale,
               d.augmentation.maxScale, d.augmentation.minRatio, d.augmentation.maxRatio}}}}};
    // Only when set, so that loops saved before the setting existed (the reference's behaviour)
    // still resume.
    if (!c.negativeClass.empty())
        settings["finetune"]["negative_class"] = c.negativeClass;
    return settings.dump();
}

IcmilLoopConfig loopConfigFromSettings(const std::string &settingsJson, IcmilLoopConfig c)
{
    try {
        const json s = json::parse(settingsJson);
        // Reads s[group][key] into `value` when it is there.
        auto read = [&](const char *group, const char *key, auto &value) {
            if (s.contains(group) && s.at(group).contains(key))
                value = jsonGet<std::remove_reference_t<decltype(value)>>(s.at(group).at(key));
        };
        std::string text;
        read("embedder", "name", c.embedder.name);
        text = c.embedder.weights.string();
        read("embedder", "weights", text);
        c.embedder.weights = text;
        read("embedder", "seed", c.embedder.seed);
        read("embedder", "calibration_patches", c.calibrationPatches);
        c.extraction.embedder = c.embedder;

        slide::PatchGridParams &grid = c.extraction.tiling.grid;
        read("patches", "patch_size", grid.patchSize);
        if (s.contains("patches") && s.at("patches").contains("magnification")) {
            const json &m = s.at("patches").at("magnification");
            grid.targetMagnification = m.is_null() ? std::nullopt : std::optional<double>(m.get<double>());
        }
        read("patches", "level", grid.level);
        read("patches", "overlap", grid.overlap);
        read("patches", "step", grid.step);
        slide::TissueDetectionParams &t = c.extraction.tiling.tissue;
        if (s.contains("tissue") && s.at("tissue").contains("preset"))
            t = slide::TissueDetectionParams::preset(s.at("tissue").at("preset").get<std::string>());
        read("tissue", "seg_level", t.segLevel);
        read("tissue", "target_downsample", t.targetDownsample);
        read("tissue", "max_mask_pixels", t.maxMaskPixels);
        read("tissue", "saturation_threshold", t.saturationThreshold);
        read("tissue", "otsu", t.useOtsu);
        read("tissue", "median_kernel", t.medianKernel);
        read("tissue", "close_kernel", t.closeKernel);
        read("tissue", "white_balance", t.whiteBalance);
        read("tissue", "min_tissue_area_mm2", t.minTissueAreaMm2);
        read("tissue", "min_hole_area_mm2", t.minHoleAreaMm2);
        read("tissue", "max_holes", t.maxHoles);
        read("tissue", "max_area_fraction", t.maxAreaFraction);
        read("tissue", "assumed_mpp", t.assumedMpp);
        read("tissue", "min_tissue_per_patch", grid.minTissueFraction);
        read("tissue", "roi", c.extraction.tiling.roiClasses);
        read("tissue", "exclude", c.extraction.tiling.excludeClasses);
        read("extraction", "half_precision", c.extraction.halfPrecision);
        if (s.contains("extraction") && s.at("extraction").contains("stain_normalisation")) {
            const json &stain = s.at("extraction").at("stain_normalisation");
            c.extraction.stain = stainNormalisationFromKey(stain.is_null() ? std::string() : stain.dump());
        }

        text = engine::milModelTypeName(c.model.type);
        read("model", "type", text);
        c.model.type = engine::parseMilModelType(text);
        read("model", "embed_dim", c.model.embedDim);
        read("model", "attention_dim", c.model.attentionDim);
        read("model", "residual_blocks", c.model.residualBlocks);
        read("model", "dropout", c.model.dropout);
        read("model", "pseudo_bags", c.model.pseudoBags);
        text = engine::dtfdDistillationName(c.model.distillation);
        read("model", "distillation", text);
        c.model.distillation = engine::parseDtfdDistillation(text);
        read("model", "seed", c.model.seed);

        read("trainer", "epochs", c.trainer.epochs);
        read("trainer", "lr", c.trainer.learningRate);
        read("trainer", "weight_decay", c.trainer.weightDecay);
        read("trainer", "grad_clipping", c.trainer.gradientClip);
        read("trainer", "milestones", c.trainer.lrMilestones);
        read("trainer", "no_schedule", c.trainer.noSchedule);
        read("trainer", "lr_decay", c.trainer.lrDecay);
        read("trainer", "seed", c.trainer.seed);
        read("trainer", "patience", c.trainer.earlyStoppingPatience);

        read("split", "val_fraction", c.split.valFraction);
        read("split", "test_fraction", c.split.testFraction);
        read("split", "seed", c.split.seed);
        read("split", "folds", c.split.folds);
        read("split", "fold", c.split.fold);
        read("split", "use_csv_split", c.split.useCsvSplit);
        read("split", "classes", c.classNames);

        FineTuningConfig &f = c.fineTuning;
        engine::DistillationConfig &d = f.distillation;
        read("finetune", "epochs", f.epochs);
        read("finetune", "patches_per_epoch", f.patchesPerEpoch);
        read("finetune", "validation_fraction", f.validationFraction);
        read("finetune", "max_validation_patches", f.maxValidationPatches);
        read("finetune", "batch_size", f.batchSize);
        read("finetune", "seed", f.seed);
        d.seed = f.seed;
        read("finetune", "lr", d.learningRate);
        read("finetune", "weight_decay", d.weightDecay);
        read("finetune", "grad_clipping", d.gradientClip);
        read("finetune", "confidence", d.confidenceWeighted);
        read("finetune", "beta", d.confidenceBeta);
        read("finetune", "freeze_batch_norm", d.freezeBatchNorm);
        read("finetune", "teacher_temperature", d.teacherTemperature);
        if (s.contains("finetune") && s.at("finetune").contains("augmentation")) {
            const auto a = s.at("finetune").at("augmentation").get<std::vector<double>>();
            if (a.size() != 6)
                throw ProjectError("finetune.augmentation has " + std::to_string(a.size()) + " values, not 6");
            d.augmentation = {a[0], a[1], a[2], a[3], a[4], a[5], d.augmentation.stainJitter};
        }
        read("finetune", "stain_jitter", d.augmentation.stainJitter);
        c.negativeClass.clear();
        read("finetune", "negative_class", c.negativeClass);
        return c;
    } catch (const json::exception &e) {
        throw ProjectError(std::string("Cannot read the saved loop's settings: ") + e.what());
    } catch (const std::exception &e) {
        throw ProjectError(std::string("Cannot read the saved loop's settings: ") + e.what());
    }
}

} // namespace icmil::project
