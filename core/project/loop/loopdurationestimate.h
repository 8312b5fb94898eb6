// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// How long an ICMIL loop would take on a device, before it runs: a short timed probe (a few
// seconds) of each kind of work the loop does, multiplied by how often the loop does it.
//
// The probe (LoopDurationEstimator::probe), on the loop's device, with the loop's models:
//   slide reading   one slide is opened; its patch grid comes from the project's patch file or,
//                   when the slide is not tiled yet, from tissue detection (timed: the tiling
//                   cost of a slide; nothing is written); patches spread over the grid are read
//                   and turned into model input one at a time, as the reader threads do. On a
//                   CPU this is a large share of extraction and fine-tuning, so it is measured.
//   embedding       forward batches of random patches without gradients (extraction), batches of
//                   the extraction's size on CUDA, smaller on a CPU (its cost per patch hardly
//                   depends on the batch there, and a batch of 64 ResNet-50 patches takes seconds);
//   distillation    teacher-student steps (engine/icmil/teacherstudent.h) on random patches;
//   bag classifier  training steps (forward, backward, Adam) and forward passes on a random bag
//                   of the project's typical size.
// Each part gets a share of the budget (kProbeSeconds, ~3 s); a part always runs at least once,
// so a very slow model can take longer. cancel() is answered between measurements.
//
// The counts (LoopDurationEstimator::workload): patches per slide from the project's patch files
// for slides that have one (read, not trusted for geometry); slides without one are assumed to
// have as many as the tiled slides' mean, or, when none is tiled, as many as the probed slide's
// tissue gives. Training slides are the split's fractions of the slides.
//
// The arithmetic (estimate(workload, timings), no I/O, for tests with made-up timings):
//   tiling      = untiled slides x tiling per slide                        (once)
//   extraction  = (K+1) x patches x per-patch cost                        (every iteration)
//   fine-tuning = K x [epochs x patches per epoch x (read + step)
//                      + (epochs + 1) x held-out patches x (read + 2 forwards)]
//   training    = (K+1) x [epochs x (train bags x step + validation bags x forward)
//                          + slides x forward]                             (predictions, attention)
// where the per-patch cost is read + forward on a CPU (readers and model share the cores) and
// max(read / reader threads, forward) on CUDA (readers keep the device busy).

#include "project/loop/icmilloop.h"
#include "project/loop/loopduration.h"
#include "project/dataset/slidelist.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace icmil::project {

class LoopDurationEstimator {
public:
    static constexpr double kProbeSeconds = 3.0;

    // `slides`: the loop's slides (listSlides of its slide folder when empty).
    LoopDurationEstimator(IcmilLoopConfig config, std::vector<SlideEntry> slides = {});

    // The counts. Throws ProjectError when there are no slides.
    LoopWorkload workload();
    // Times the work on the loop's device. Throws EngineError / SlideError / ProjectError (an
    // unknown embedder, a device that is not there, no slide that opens). `bagSize`: patches of
    // the random bag (the workload's mean).
    LoopProbeTimings probe(std::int64_t bagSize);
    // workload(), then probe(), then the arithmetic. Cancelled: returns what was measured so far
    // (check cancelled()).
    LoopDurationEstimate run();

    // Thread-safe; the probe stops after the measurement under way.
    void cancel() { m_cancelled = true; }
    bool cancelled() const { return m_cancelled; }

    // The arithmetic above.
    static LoopDurationEstimate estimate(const LoopWorkload &workload, const LoopProbeTimings &timings);

private:
    void probeSlide(LoopProbeTimings &timings, int inputSize, double budget);
    void probeModels(LoopProbeTimings &timings, engine::Embedder &embedder, std::int64_t bagSize, double budget);

    IcmilLoopConfig m_config;
    std::vector<SlideEntry> m_slides;
    std::vector<std::int64_t> m_patchCounts; // per slide, -1: no patch file
    std::atomic_bool m_cancelled{false};
};

} // namespace icmil::project
