#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

// The CLI's commands: each prints for a terminal and returns the process exit code.
// Parsing lives in main.cpp; the work itself lives in core/.
namespace icmil::cli {

struct SynthOptions {
    std::filesystem::path outputDir;
    int slides = 8;
    std::uint64_t seed = 1;
    std::string size = "20000x16000";
    double positiveFraction = 0.5;
    int threads = 0;
};

// Where patches come from (`icmil tile`, and `icmil extract` when a slide has no patch file yet).
struct TileOptions {
    std::filesystem::path slides;      // a slide, a dataset folder (labels.csv) or a folder of slides
    std::filesystem::path projectDir;  // outputs: patches/, tissue/, features/
    double magnification = 20.0;       // target magnification (slides with mpp or objective power)
    int level = -1;                    // >= 0: patches at this pyramid level instead
    int patchSize = 256;
    double overlap = 0.0;
    double minTissue = 0.25;           // fraction of a patch that must be tissue
    std::string preset = "default";    // tissue detection preset (CLAM's)
    bool otsu = false;
};

struct ExtractOptions {
    TileOptions tile;
    std::string embedder = "tiny-cnn"; // built-in name or TorchScript file
    std::filesystem::path weights;
    std::string device = "auto";
    int batchSize = 64;
    int readers = 0;
    bool half = false;
    bool overwrite = false;
    std::uint64_t seed = 0;
};

// Feature files made elsewhere (CLAM's h5_files/, TRIDENT's features_<encoder>/).
struct ImportOptions {
    std::filesystem::path source;
    std::filesystem::path projectDir;
    std::string encoder;               // the project's name for these features (its folder)
    bool overwrite = false;
};

std::string versionText();
int runTile(const TileOptions &options);
int runExtract(const ExtractOptions &options);
int runImport(const ImportOptions &options);
int runSynth(const SynthOptions &options);
int runInfo(const std::filesystem::path &slidePath);
int runSummary(const std::filesystem::path &datasetDir);
int runDemo(const std::filesystem::path &outputDir);

} // namespace icmil::cli
