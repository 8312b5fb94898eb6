// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Feature extraction's settings and reports (featureextractor.h runs it): plain values, no
// LibTorch, so that the app holds them without loading it (docs/ARCHITECTURE.md, "LibTorch on demand").

#include "engine/embedders/embedderconfig.h"
#include "engine/stain/stainconfig.h"
#include "project/features/slidetiler.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace icmil::project {

struct ExtractionConfig {
    std::filesystem::path projectDir; // outputs go where ProjectLayout says
    engine::EmbedderConfig embedder;
    std::string encoderName;     // features/<encoderName>/ and the files' encoder attribute; empty: the embedder's name
    std::string device = "auto"; // "auto", "cpu", "cuda", "cuda:N"
    int batchSize = 64;
    int readerThreads = 0;      // 0: every hardware thread
    int batchesAhead = 4;       // read-ahead per slide, in batches
    bool halfPrecision = false; // CUDA only: run the model under autocast (float16)
    bool overwrite = false;     // re-extract slides whose feature file exists
    TilingConfig tiling;
    // Each slide's patches mapped to a reference stain before the embedder (slidestain.h).
    engine::StainNormalisation stain;
};

struct ExtractionProgress {
    int slideIndex = 0; // 0-based, of slideCount
    int slideCount = 0;
    std::string slideId;
    std::string phase;            // "tiling", "extracting", "skipped", "done"
    std::int64_t patchesDone = 0; // in this slide
    std::int64_t patchesTotal = 0;
    double patchesPerSecond = 0.0; // over the run's extracted patches so far
    double etaSeconds = -1.0;      // of the whole run; -1 while unknown
};

struct SlideExtraction {
    enum class Status { Extracted, Skipped, Failed };
    std::string slideId;
    Status status = Status::Failed;
    std::string message; // why it was skipped or failed
    std::int64_t patches = 0;
    double seconds = 0.0;
    std::filesystem::path featureFile;
};

struct ExtractionReport {
    std::vector<SlideExtraction> slides;
    bool cancelled = false;
    std::int64_t patches = 0; // extracted in this run
    double seconds = 0.0;
    std::string embedderName;
    std::string device; // as resolved, e.g. "cpu" or "cuda:0"
    int failed() const;
};

} // namespace icmil::project
