// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/synthetic/syntheticpreset.h"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace icmil::slide {
class SyntheticSlideWriter;
}

namespace icmil::project {

struct SyntheticDatasetConfig {
    std::filesystem::path outputDir;
    int slides = 8;
    std::uint64_t seed = 1;
    std::int64_t width = 20000;
    std::int64_t height = 16000;
    double positiveFraction = 0.5;
    slide::SyntheticPreset preset = slide::SyntheticPreset::Easy; // how hard (slide/synthetic/syntheticpreset.h)
    int threads = 0;                                              // 0 = all cores
};

struct SyntheticSlideRecord {
    std::string caseId;
    std::string slideId;
    std::string label; // "tumor" or "normal"
    std::filesystem::path slidePath;
    std::filesystem::path maskPath;
    std::filesystem::path annotationPath;
    int levelCount = 0;
    std::uint64_t fileBytes = 0;
    int tumourRegions = 0;
    double tissueFraction = 0.0;
    double tumourFraction = 0.0;
    double mimicFraction = 0.0; // lymphoid aggregates (tumour mimics), of the tissue
    int mimicRegions = 0;
    int germinalCentres = 0;
    bool microMetastasesOnly = false;
    int centre = 0; // simulated scanning centre
    bool blurred = false;
    int penStrokes = 0;
    int folds = 0;
    double seconds = 0.0;
};

struct SyntheticDatasetResult {
    std::vector<SyntheticSlideRecord> slides;
    std::filesystem::path labelsPath;
    std::filesystem::path manifestPath;
    double seconds = 0.0;
};

// Generates a labelled synthetic dataset (the embedded default for the demo, tests and
// benchmarks) in CLAM's layout:
//   DIR/slides/<slide_id>.svs        Aperio-style pyramidal TIFFs
//   DIR/masks/<slide_id>_tumor.png    ground-truth tumour masks
//   DIR/annotations/<slide_id>.geojson tumour polygons, level-0 coordinates
//   DIR/labels.csv                    case_id,slide_id,label
//   DIR/dataset.json                  the generator's settings (preset included) and per-slide facts
// Deterministic for a seed. Slides already present from an identical earlier run are reused.
class SyntheticDataset {
public:
    // slideIndex 0..slides-1 then the fraction within that slide (0..1).
    using ProgressCallback = std::function<void(int slideIndex, int slideCount, double fraction)>;

    explicit SyntheticDataset(SyntheticDatasetConfig config);

    // Throws ProjectError (bad config, I/O) or slide::SlideError; never leaves half files.
    SyntheticDatasetResult generate(const ProgressCallback &progress = {});
    void cancel();

    // Whether `dir` holds a finished dataset generated with `config`'s settings (its dataset.json
    // says so; the output folder itself is not compared). Never throws.
    static bool madeWith(const std::filesystem::path &dir, const SyntheticDatasetConfig &config);

private:
    SyntheticDatasetConfig m_config;
    std::atomic_bool m_cancelled{false};
    std::mutex m_writerMutex; // guards m_activeWriter
    slide::SyntheticSlideWriter *m_activeWriter = nullptr;
};

} // namespace icmil::project
