// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What the training panel lets a user set for an ICMIL loop, with `icmil run`'s defaults, and
// how it becomes the core's IcmilLoopConfig. Settings without a widget (tiling, model widths,
// batch sizes, split fractions) come from a base config: defaultLoopConfig(), `icmil run`'s.
//
// Defaults that follow the device (deviceDefaults(), the form's "Defaults for this device"):
//   CPU   tiny-cnn, 50 classifier epochs, 3 fine-tuning epochs of 2000 patches: the ICMIL loop
//         on a few dozen slides in well under an hour on a laptop's cores;
//   CUDA  the reference's sizes: resnet50-trunc, 200 classifier epochs, 5 fine-tuning epochs
//         of 10000 patches (hours on a CPU, minutes to an hour on a GPU).
// Both keep K = 2 iterations and the other settings. A struct made with {} holds `icmil run`'s
// defaults (tiny-cnn with the CUDA set's epochs and patches): every default below is read from
// project::loopDefaults(), the one source the command line also reads.

#include "engine/mil/milconfig.h"
#include "project/demorecipe.h"
#include "project/loop/icmilloopconfig.h"
#include "project/loop/loopdefaults.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace icmil::ui {

// The settings that follow the device.
struct DeviceDefaults {
    std::string embedder;
    int epochs = 0;
    int fineTuneEpochs = 0;
    std::int64_t fineTunePatches = 0;
    // A randomly initialised tiny-cnn (the CPU's) learns nothing at the reference's 1e-5 for an
    // ImageNet ResNet-50: icmil-loop-bench chose 1e-4 for it on validation AUC.
    double fineTuneLearningRate = 0.0;
    bool operator==(const DeviceDefaults &) const = default;
};

struct TrainingSettings {
    std::filesystem::path projectRoot;
    std::filesystem::path slides;                                                     // slide files; empty: the project folder
    std::string name = project::loopDefaults().name;                                  // icmil/<name>/, runs/<name>-it<k>/
    std::string model = engine::milModelTypeName(project::loopDefaults().model.type); // "abmil", "maxpool", "dtfd"
    std::string embedder = project::loopDefaults().embedder.name;       // a built-in ("tiny-cnn", "resnet50-trunc") or a TorchScript file
    std::filesystem::path embedderWeights;                              // a built-in's weights (torch.save file); empty: random
    int iterations = project::loopDefaults().iterations;                // fine-tuning rounds K: iterations 0..K
    int epochs = project::loopDefaults().trainer.epochs;                // classifier epochs per iteration
    double learningRate = project::loopDefaults().trainer.learningRate; // classifier; 0: the reference's (2e-4; DTFD 1e-4)
    double fineTuneLearningRate = project::loopDefaults().fineTuning.distillation.learningRate;
    int fineTuneEpochs = project::loopDefaults().fineTuning.epochs;
    std::int64_t fineTunePatches = project::loopDefaults().fineTuning.patchesPerEpoch; // per fine-tuning epoch
    std::string device = project::loopDefaults().device;                               // "auto", "cpu", "cuda:N" (Preferences > Device)
    bool confidenceWeighted = project::loopDefaults().fineTuning.distillation.confidenceWeighted; // confidence-based fine-tuning
    // Tissue and patches, with `icmil run`'s defaults and names (--preset, --magnification,
    // --patch-size, --min-tissue, --roi, --exclude).
    std::string tissuePreset = project::loopDefaults().extraction.tiling.tissue.presetName; // slide::TissueDetectionParams::presetNames()
    // of the patches; 0: the slide's level 0 (native resolution)
    double magnification = project::loopDefaults().extraction.tiling.grid.targetMagnification.value_or(0.0);
    int patchSize = project::loopDefaults().extraction.tiling.grid.patchSize;            // pixels at that magnification
    double minTissue = project::loopDefaults().extraction.tiling.grid.minTissueFraction; // fraction of a patch that must be tissue
    std::vector<std::string> roiClasses;                                                 // imported annotation classes patches must lie in
    std::vector<std::string> excludeClasses; // imported annotation classes patches must not touch
    // Stain normalisation (icmil run --stain-norm, --stain-reference, --stain-jitter): the method,
    // the reference ("built-in" or SLIDE@X,Y,W,H) and, when known, that reference's profile (a
    // saved loop's); a region whose profile is not known yet is estimated when the run starts.
    std::string stainMethod = engine::stainMethodName(project::loopDefaults().extraction.stain.method);
    std::string stainReference = project::loopDefaults().extraction.stain.referenceSource;
    engine::StainProfile stainReferenceProfile = project::loopDefaults().extraction.stain.reference;
    double stainJitter = project::loopDefaults().fineTuning.distillation.augmentation.stainJitter; // HED jitter in fine-tuning
    std::string negativeClass = project::loopDefaults().negativeClass; // fine-tuning's known-negative label; empty: off
    std::uint64_t seed = project::loopDefaults().trainer.seed;
    // The device-sized fields still at their defaults follow the device (a new project); false for
    // the demo's recipe and a project with a saved loop, whose settings are kept as they are.
    bool followDevice = true;

    // `icmil run`'s other settings (project::loopDefaults()): extraction batches of 64, no patch
    // overlap, ABMIL 512/128, split 0.8/0.1/0.1 seeded 1, fine-tuning batches of 100.
    static project::IcmilLoopConfig defaultLoopConfig() { return project::loopDefaults(); }

    // The CPU-sized or the reference-sized (CUDA) defaults above.
    static DeviceDefaults deviceDefaults(bool cpu);
    // These settings' values of the fields that follow the device, and writing them.
    DeviceDefaults deviceSized() const;
    void setDeviceSized(const DeviceDefaults &values);

    // The demo's loop (project/demorecipe.h), as `icmil demo` runs it: project::applyDemoRecipe
    // on `base`, and the settings it wrote (tissue preset, epochs, learning rates, iterations,
    // fine-tuning sizes) taken from there into these settings.
    void applyDemoRecipe(const project::DemoRecipe &recipe, project::IcmilLoopConfig &base);

    // A saved loop's settings in the form (project::loopConfigFromSettings gives `config`): its
    // fields from `config`, the rest (project, slides, device, iterations) from `base`; the
    // result keeps its values (followDevice false).
    static TrainingSettings fromLoopConfig(const project::IcmilLoopConfig &config, TrainingSettings base);

    // `base` with these settings written over it (base's tissue detector settings stay when its
    // preset is tissuePreset; base's level when magnification is 0). Throws engine::EngineError
    // for an unknown model.
    project::IcmilLoopConfig loopConfig(project::IcmilLoopConfig base = defaultLoopConfig()) const;
};

} // namespace icmil::ui
