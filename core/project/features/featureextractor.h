// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "engine/embedders/embedder.h"
#include "engine/stain/stainnormaliser.h"
#include "project/features/extractionconfig.h"
#include "project/projectlayout.h"
#include "project/dataset/slidelist.h"
#include "project/features/slidetiler.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace icmil::project {

// Step 0 of ICMIL for a list of slides: tissue, patch grid, and features from an embedder,
// written per slide into the project (one HDF5 file each, atomically). Reader threads fill
// batches while the model runs (PatchBatchReader); on CUDA batches are pinned and copied
// asynchronously, optionally in half precision. Resumable: a slide whose feature file already
// exists for this encoder (and the same patch count) is skipped, so a killed run continues
// where it stopped. A slide that fails (damaged file) is reported and the run goes on. With stain
// normalisation each slide's stain is estimated from its own patches first (slidestain.h) and
// every batch is mapped to the reference on the model's device.
// Cancellation (cancel(), from any thread) is answered between batches.
class FeatureExtractor {
public:
    using ProgressCallback = std::function<void(const ExtractionProgress &)>;

    // Builds the embedder (or takes one) and resolves the device; throws EngineError for a bad
    // embedder, weights file or device.
    explicit FeatureExtractor(ExtractionConfig config);
    FeatureExtractor(ExtractionConfig config, std::unique_ptr<engine::Embedder> embedder);
    ~FeatureExtractor();

    void setProgressCallback(ProgressCallback callback) { m_progress = std::move(callback); }
    // One line for a log, e.g. the batch halved after the device ran out of memory.
    void setMessageCallback(std::function<void(const std::string &)> callback) { m_message = std::move(callback); }
    void cancel() { m_cancelled = true; }

    ExtractionReport run(const std::vector<SlideEntry> &slides);

    const engine::Embedder &embedder() const { return *m_embedder; }
    std::string encoderName() const { return m_config.encoderName.empty() ? m_embedder->name() : m_config.encoderName; }

private:
    SlideExtraction extractSlide(const SlideEntry &slide, int index, int count);
    void report(ExtractionProgress progress, bool force);

    ExtractionConfig m_config;
    ProjectLayout m_layout;
    std::unique_ptr<engine::Embedder> m_embedder;
    engine::StainNormaliser m_stain;
    std::string m_deviceName;
    ProgressCallback m_progress;
    std::function<void(const std::string &)> m_message;
    int m_modelBatch = 0; // patches per forward pass: batchSize, halved on out of memory
    std::atomic_bool m_cancelled{false};

    // run-wide counters for rate and ETA
    std::int64_t m_runPatches = 0;
    std::int64_t m_runPatchesExpected = 0;
    double m_runSeconds = 0.0;
    std::int64_t m_lastReportNs = 0;
};

} // namespace icmil::project
