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

std::string versionText();
int runSynth(const SynthOptions &options);
int runInfo(const std::filesystem::path &slidePath);
int runSummary(const std::filesystem::path &datasetDir);
int runDemo(const std::filesystem::path &outputDir);

} // namespace icmil::cli
