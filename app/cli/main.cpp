// icmil: the headless command line of ICMIL Studio. Argument parsing only; see commands.cpp.
#include "commands.h"

#include "engine/runtime.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char **argv)
{
    icmil::engine::configureThreads(0); // LibTorch starts with 1 intra-op thread on Debian

    CLI::App app{"ICMIL Studio command line: synthetic data, slide inspection and (later) training"};
    app.require_subcommand(0, 1);
    bool showVersion = false;
    app.add_flag("--version", showVersion, "Print versions of ICMIL Studio and its libraries");

    icmil::cli::SynthOptions synth;
    CLI::App *synthCmd = app.add_subcommand("synth", "Generate a labelled synthetic whole-slide dataset");
    synthCmd->add_option("--out", synth.outputDir, "Output folder")->required();
    synthCmd->add_option("--slides", synth.slides, "Number of slides")->check(CLI::Range(1, 10000))->capture_default_str();
    synthCmd->add_option("--seed", synth.seed, "Random seed (same seed, same files)")->capture_default_str();
    synthCmd->add_option("--size", synth.size, "Level-0 size WIDTHxHEIGHT in pixels")->capture_default_str();
    synthCmd->add_option("--positive-fraction", synth.positiveFraction, "Fraction of tumour slides")
        ->check(CLI::Range(0.0, 1.0))->capture_default_str();
    synthCmd->add_option("--threads", synth.threads, "Worker threads (0 = all cores)")->check(CLI::NonNegativeNumber);

    std::string infoPath;
    CLI::App *infoCmd = app.add_subcommand("info", "Print a slide's levels, resolution and properties");
    infoCmd->add_option("slide", infoPath, "Slide or image file")->required();

    std::string summaryPath;
    CLI::App *summaryCmd = app.add_subcommand("summary", "Check and summarise a dataset folder (labels.csv + slides)");
    summaryCmd->add_option("dataset", summaryPath, "Dataset folder")->required();

    std::string demoPath = "demo";
    CLI::App *demoCmd = app.add_subcommand("demo", "Generate the demo dataset and summarise it");
    demoCmd->add_option("--out", demoPath, "Output folder")->capture_default_str();

    CLI11_PARSE(app, argc, argv);

    if (showVersion) {
        std::cout << icmil::cli::versionText();
        return 0;
    }
    if (*synthCmd)
        return icmil::cli::runSynth(synth);
    if (*infoCmd)
        return icmil::cli::runInfo(infoPath);
    if (*summaryCmd)
        return icmil::cli::runSummary(summaryPath);
    if (*demoCmd)
        return icmil::cli::runDemo(demoPath);
    std::cout << app.help();
    return 0;
}
