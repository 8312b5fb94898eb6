// icmil: the headless command line of ICMIL Studio. Argument parsing only; see commands.cpp.
#include "commands.h"

#include "engine/runtime.h"

#include <CLI/CLI.hpp>

#include <iostream>

int main(int argc, char **argv)
{
    icmil::engine::configureThreads(0); // LibTorch starts with 1 intra-op thread on Debian

    CLI::App app{"ICMIL Studio command line: synthetic data, slide inspection, tiling and feature extraction"};
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

    // Options shared by tile and extract.
    auto addTileOptions = [](CLI::App *cmd, icmil::cli::TileOptions &o) {
        cmd->add_option("--slides", o.slides, "A slide, a dataset folder (labels.csv) or a folder of slides")->required();
        cmd->add_option("--out", o.projectDir, "Project folder (patches/, tissue/, features/)")->required();
        cmd->add_option("--magnification", o.magnification, "Target magnification of the patches (slides with mpp)")
            ->check(CLI::PositiveNumber)->capture_default_str();
        cmd->add_option("--level", o.level, "Cut patches at this pyramid level instead of a magnification")
            ->check(CLI::NonNegativeNumber);
        cmd->add_option("--patch-size", o.patchSize, "Patch edge in pixels")->check(CLI::Range(16, 4096))->capture_default_str();
        cmd->add_option("--overlap", o.overlap, "Fraction of a patch shared with its neighbours")
            ->check(CLI::Range(0.0, 0.95))->capture_default_str();
        cmd->add_option("--min-tissue", o.minTissue, "Keep patches with at least this fraction of tissue")
            ->check(CLI::Range(0.0, 1.0))->capture_default_str();
        cmd->add_option("--preset", o.preset, "Tissue detection preset (CLAM's)")->capture_default_str();
        cmd->add_flag("--otsu", o.otsu, "Otsu threshold instead of the fixed saturation threshold");
    };

    icmil::cli::TileOptions tile;
    CLI::App *tileCmd = app.add_subcommand("tile", "Detect tissue and cut patch grids (CLAM-style), per slide");
    addTileOptions(tileCmd, tile);

    icmil::cli::ExtractOptions extract;
    CLI::App *extractCmd = app.add_subcommand("extract", "Extract patch features into HDF5 (resumable)");
    addTileOptions(extractCmd, extract.tile);
    extractCmd->add_option("--embedder", extract.embedder,
                           "resnet50-trunc, tiny-cnn, or a TorchScript file with a JSON beside it")->capture_default_str();
    extractCmd->add_option("--weights", extract.weights, "Weights for a built-in embedder (torch.save file)");
    extractCmd->add_option("--device", extract.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    extractCmd->add_option("--batch-size", extract.batchSize, "Patches per batch")->check(CLI::Range(1, 4096))->capture_default_str();
    extractCmd->add_option("--readers", extract.readers, "Patch reader threads (0 = all cores)")->check(CLI::NonNegativeNumber);
    extractCmd->add_flag("--half", extract.half, "Half precision on CUDA");
    extractCmd->add_flag("--overwrite", extract.overwrite, "Extract again slides that already have features");
    extractCmd->add_option("--seed", extract.seed, "Seed of a randomly initialised embedder")->capture_default_str();

    icmil::cli::ImportOptions import;
    CLI::App *importCmd = app.add_subcommand("import", "Import CLAM or TRIDENT feature files into a project");
    importCmd->add_option("--from", import.source, "CLAM h5_files/ (or its parent), TRIDENT features_<encoder>/ (or its parent)")
        ->required();
    importCmd->add_option("--out", import.projectDir, "Project folder")->required();
    importCmd->add_option("--encoder", import.encoder, "Name of these features in the project, e.g. uni_v1")->required();
    importCmd->add_flag("--overwrite", import.overwrite, "Replace features already in the project");

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
    if (*tileCmd)
        return icmil::cli::runTile(tile);
    if (*extractCmd)
        return icmil::cli::runExtract(extract);
    if (*importCmd)
        return icmil::cli::runImport(import);
    if (*demoCmd)
        return icmil::cli::runDemo(demoPath);
    std::cout << app.help();
    return 0;
}
