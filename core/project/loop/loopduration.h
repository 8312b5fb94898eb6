// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What a loop's duration estimate is made of (loopdurationestimate.h measures and computes it):
// plain values, no LibTorch, so that the app shows them without loading it.

#include <cstdint>
#include <string>

namespace icmil::project {

// Seconds per unit of work, measured by the probe (or made up by a test).
struct LoopProbeTimings {
    std::string device;                   // as resolved: "cpu", "cuda:0"
    double tilingPerSlide = 0.0;          // tissue detection + patch grid of one slide
    double readPerPatch = 0.0;            // one patch read from a slide and made model input, one thread
    double embedPerPatch = 0.0;           // embedder forward without gradients
    double distillPerPatch = 0.0;         // one teacher-student step, per patch of its batch
    double bagStep = 0.0;                 // one bag-classifier training step on a typical bag
    double bagForward = 0.0;              // one bag through the classifier, no gradients
    std::int64_t probedSlidePatches = -1; // the probed slide's patches (-1: none probed)
    double seconds = 0.0;                 // the probe's own wall time
    bool cpu() const { return device.rfind("cpu", 0) == 0; }
};

// How often the loop does each kind of work.
struct LoopWorkload {
    int slides = 0;
    int trainSlides = 0;
    int validationSlides = 0;
    int untiledSlides = 0;         // without a patch file in the project
    std::int64_t tiledPatches = 0; // over the slides with a patch file
    int fineTuningIterations = 2;  // K
    int classifierEpochs = 200;
    int fineTuneEpochs = 5;
    std::int64_t fineTunePatches = 10000; // per epoch
    double fineTuneValidationFraction = 0.1;
    std::int64_t maxValidationPatches = 2000;
    int readerThreads = 1; // extraction's, resolved (0 became the core count)
};

struct LoopDurationEstimate {
    LoopWorkload workload;
    LoopProbeTimings timings;
    std::int64_t patches = 0; // over all slides, measured and assumed
    std::int64_t bagSize = 0; // patches per slide, mean
    std::string patchSource;  // where `patches` comes from, in words
    double tilingSeconds = 0.0;
    double extractionSeconds = 0.0;
    double fineTuningSeconds = 0.0;
    double trainingSeconds = 0.0;
    double totalSeconds = 0.0;
};

} // namespace icmil::project
