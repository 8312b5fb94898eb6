// SPDX-License-Identifier: GPL-3.0-or-later
// `icmil tile` and `icmil extract`: step 0 of ICMIL from the command line.
#include "cliformat.h"
#include "commands.h"
#include "distributedcli.h"
#include "project/features/distributedextraction.h"
#include "interruptguard.h"
#include "progressbar.h"

#include "engine/engineerror.h"
#include "project/annotations/annotationimport.h"
#include "project/features/featureextractor.h"
#include "project/projectcatalog.h"
#include "project/features/featureimport.h"
#include "project/features/slidestain.h"
#include "project/projecterror.h"
#include "project/dataset/slidelist.h"
#include "project/dataset/slideshare.h"
#include "project/features/slidetiler.h"
#include "slide/slideerror.h"
#include "slide/io/slidesource.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

namespace icmil::cli {

namespace {

namespace fs = std::filesystem;

// The slides, with every listing problem printed; empty when there is nothing to do.
std::vector<project::SlideEntry> slidesOf(const fs::path &location)
{
    const project::SlideListing listing = project::listSlides(location);
    for (const std::string &problem : listing.problems)
        std::cerr << "warning: " << problem << '\n';
    if (listing.slides.empty())
        std::cerr << "error: no slides found in '" << location.string() << "'\n";
    return listing.slides;
}

// Slides without patches: one warning each (why, what to change) and a summary line; with
// `strict` they are errors. True when they fail the command.
bool warnNoPatches(const std::vector<std::pair<std::string, std::string>> &empty, bool strict)
{
    if (empty.empty())
        return false;
    const char *kind = strict ? "error: " : "warning: ";
    for (const auto &[slideId, why] : empty)
        std::cerr << kind << slideId << " has no patches: " << why << '\n';
    std::cerr << kind << empty.size() << (empty.size() == 1 ? " slide has" : " slides have") << " no patches and no features"
              << (strict ? " (--strict)" : "; training and the ICMIL loop leave them out (--strict to fail instead)") << '\n';
    return strict;
}

// The exit code of `icmil extract` from its report: 130 when cancelled, 1 when a slide failed or
// (with --strict) has no patches. `warn`: say which slides have no patches.
int extractExitCode(const project::ExtractionReport &report, bool strict, bool warn)
{
    if (report.cancelled)
        return 130;
    std::vector<std::pair<std::string, std::string>> empty;
    for (const project::SlideExtraction &s : report.slides)
        if (s.status != project::SlideExtraction::Status::Failed && s.patches == 0)
            empty.emplace_back(s.slideId, s.message);
    const bool emptyFails = warn ? warnNoPatches(empty, strict) : strict && !empty.empty();
    return report.failed() == 0 && !emptyFails ? 0 : 1;
}

} // namespace

project::TilingConfig tilingConfig(const TileOptions &options)
{
    project::TilingConfig config;
    config.tissue = slide::TissueDetectionParams::preset(options.preset);
    if (options.otsu)
        config.tissue.useOtsu = true;
    if (options.saturationThreshold >= 0)
        config.tissue.saturationThreshold = options.saturationThreshold;
    if (options.minTissueArea >= 0.0)
        config.tissue.minTissueAreaMm2 = options.minTissueArea;
    if (options.minHoleArea >= 0.0)
        config.tissue.minHoleAreaMm2 = options.minHoleArea;
    config.roiClasses = project::classList(options.roi);
    config.excludeClasses = project::classList(options.exclude);
    config.grid.patchSize = options.patchSize;
    config.grid.overlap = options.overlap;
    config.grid.minTissueFraction = options.minTissue;
    if (options.level >= 0) {
        config.grid.targetMagnification.reset();
        config.grid.level = options.level;
    } else {
        config.grid.targetMagnification = options.magnification;
    }
    return config;
}

project::ExtractionConfig extractionConfig(const ExtractOptions &options)
{
    project::ExtractionConfig config;
    config.projectDir = options.tile.projectDir;
    config.embedder.name = options.embedder;
    config.embedder.weights = options.weights;
    config.embedder.seed = options.seed;
    config.device = options.device;
    config.batchSize = options.batchSize;
    config.readerThreads = options.readers;
    config.halfPrecision = options.half;
    config.overwrite = options.overwrite;
    config.tiling = tilingConfig(options.tile);
    config.stain = project::resolveStainNormalisation(engine::parseStainMethod(options.stainNorm), options.stainReference);
    return config;
}

int runTile(const TileOptions &options)
{
    const std::vector<project::SlideEntry> slides = slidesOf(options.slides);
    if (slides.empty())
        return 1;
    const project::SlideTiler tiler(project::ProjectLayout(options.projectDir), tilingConfig(options));
    int failed = 0;
    std::int64_t total = 0;
    std::vector<std::pair<std::string, std::string>> empty; // slide, why
    const auto start = std::chrono::steady_clock::now();
    for (const project::SlideEntry &entry : slides) {
        const auto slideStart = std::chrono::steady_clock::now();
        try {
            const auto source = slide::SlideSource::open(entry.path);
            const project::SlideTiling tiling = tiler.tile(*source, entry.slideId);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - slideStart).count();
            total += static_cast<std::int64_t>(tiling.grid.coords.size());
            std::cout << std::left << std::setw(16) << entry.slideId << ' ' << std::right << std::setw(7) << tiling.grid.coords.size()
                      << " patches of " << tiling.grid.patchSize << " px (level " << tiling.grid.readLevel << ", read "
                      << tiling.grid.readSize << " px), ";
            if (tiling.reused)
                std::cout << "reused the existing patch file\n";
            else
                std::cout << "tissue " << fixed(100.0 * tiling.tissueFraction, 1) << "%, " << fixed(seconds, 2) << " s\n";
            if (tiling.grid.coords.empty())
                empty.emplace_back(entry.slideId, tiling.noPatches);
        } catch (const std::exception &e) {
            ++failed;
            std::cerr << "error: " << entry.slideId << ": " << e.what() << '\n';
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << "Tiled " << slides.size() - static_cast<std::size_t>(failed) << " of " << slides.size() << " slides, " << total
              << " patches, in " << fixed(seconds, 2) << " s -> " << project::ProjectLayout(options.projectDir).patchesDir().string()
              << '\n';
    const bool emptyFails = warnNoPatches(empty, options.strict);
    return failed == 0 && !emptyFails ? 0 : 1;
}

int runExtract(const ExtractOptions &given)
{
    ExtractOptions options = given;
    const std::vector<project::SlideEntry> allSlides = slidesOf(options.tile.slides);
    if (allSlides.empty())
        return 1;
    // In a torch.distributed job each rank extracts its share of the slides (each slide's files
    // are written by one rank, atomically); rank 0 prints the whole table once all have finished.
    const DistributedRun dist = joinDistributed(options.dist, options.device, options.readers);
    const std::vector<project::SlideEntry> slides
        = dist.active() ? project::slideShare(allSlides, dist.rank(), dist.worldSize()) : allSlides;
    if (dist.active())
        std::cout << "Rank " << dist.rank() << ": " << slides.size() << " of " << allSlides.size() << " slides\n";
    const project::ExtractionConfig config = extractionConfig(options);

    project::FeatureExtractor extractor(config);
    std::cout << "Embedder " << extractor.embedder().name() << " (" << extractor.embedder().featureDim() << " features, input "
              << extractor.embedder().inputSize() << " px) on " << extractor.embedder().device().str() << ", " << slides.size()
              << " slides\n";
    if (config.stain.active())
        std::cout << "Stain normalisation " << engine::stainMethodName(config.stain.method) << " to the "
                  << (config.stain.referenceSource == "built-in" ? std::string("built-in H&E reference")
                                                                 : "reference from " + config.stain.referenceSource)
                  << " (each slide's stain estimated from " << project::kStainSamplePatches << " of its patches)\n";
    ProgressBar bar;
    extractor.setProgressCallback([&](const project::ExtractionProgress &p) {
        const double fraction = p.patchesTotal > 0 ? static_cast<double>(p.patchesDone) / p.patchesTotal : 0.0;
        std::string detail = p.slideId + " " + p.phase;
        if (p.patchesPerSecond > 0)
            detail += " " + fixed(p.patchesPerSecond, 0) + " patches/s";
        if (p.etaSeconds >= 0)
            detail += " ETA " + fixed(p.etaSeconds, 0) + " s";
        bar.update(p.slideIndex, p.slideCount, fraction, detail);
    });
    extractor.setMessageCallback([&](const std::string &text) {
        bar.finish();
        std::cout << text << std::endl;
    });
    project::ExtractionReport report = [&] {
        const InterruptGuard guard([&extractor] { extractor.cancel(); });
        return extractor.run(slides);
    }();
    bar.finish();
    if (dist.active()) {
        const std::size_t mine = report.slides.size();
        report = project::gatherExtractionReports(*dist.group, "icmil/extract/report", report, allSlides);
        if (!dist.leader()) {
            std::cout << "Rank " << dist.rank() << ": " << mine << " slide(s) done; rank 0 prints the table\n";
            return extractExitCode(report, options.tile.strict, false);
        }
    }
    for (const project::SlideExtraction &s : report.slides) {
        std::cout << std::left << std::setw(16) << s.slideId << ' ' << std::right << std::setw(7) << s.patches << " patches  ";
        switch (s.status) {
        case project::SlideExtraction::Status::Extracted:
            std::cout << fixed(s.seconds, 2) << " s" << (s.patches == 0 ? "  (no patches)" : "") << '\n';
            break;
        case project::SlideExtraction::Status::Skipped:
            std::cout << "skipped (already extracted" << (s.patches == 0 ? ", no patches" : "") << ")\n";
            break;
        case project::SlideExtraction::Status::Failed: std::cout << "FAILED: " << s.message << '\n'; break;
        }
    }
    const double rate = report.seconds > 0 ? static_cast<double>(report.patches) / report.seconds : 0.0;
    std::cout << (report.cancelled ? "Cancelled after " : "Extracted ") << report.patches << " patches in " << fixed(report.seconds, 2)
              << " s (" << fixed(rate, 1) << " patches/s) -> "
              << project::ProjectLayout(config.projectDir).featuresDir(report.embedderName).string() << '\n';
    if (report.failed() > 0)
        std::cerr << slidesFailedLine(static_cast<std::size_t>(report.failed()));
    return extractExitCode(report, options.tile.strict, true);
}

int runAnnotationImport(const AnnotationImportOptions &options)
{
    fs::path slidesLocation = options.slides;
    if (slidesLocation.empty())
        slidesLocation = project::readProjectSettings(options.projectDir).slides;
    const std::vector<project::SlideEntry> slides = slidesOf(slidesLocation);
    if (slides.empty())
        return 1;
    const project::AnnotationImportReport report = project::importAnnotations(options.projectDir, options.source, slides);
    for (const project::AnnotationImportEntry &e : report.entries) {
        if (e.imported) {
            std::string classes;
            for (const std::string &name : e.classNames)
                classes += (classes.empty() ? "" : ", ") + name;
            std::cout << std::left << std::setw(16) << e.slideId << ' ' << e.annotations << " annotation(s)"
                      << (classes.empty() ? "" : " (" + classes + ")") << " from " << e.file.filename().string() << '\n';
        } else {
            std::cerr << "error: " << e.file.filename().string() << ": " << e.reason << '\n';
        }
    }
    std::cout << "Imported annotations for " << report.importedCount() << " of " << report.entries.size() << " file(s) -> "
              << (options.projectDir / "annotations").string() << '\n';
    return report.importedCount() == report.entries.size() ? 0 : 1;
}

int runImport(const ImportOptions &options)
{
    const project::ProjectLayout layout(options.projectDir);
    const fs::path destination = layout.featuresDir(options.encoder);
    project::FeatureImportOptions importOptions;
    importOptions.encoder = options.encoder;
    importOptions.overwrite = options.overwrite;
    ProgressBar bar;
    importOptions.progress = [&](std::size_t done, std::size_t all) { bar.update(static_cast<int>(done), static_cast<int>(all), 0.0); };
    const project::FeatureImportReport report = project::importFeatureDirectory(options.source, destination, importOptions);
    bar.finish();
    for (const project::FeatureImportEntry &e : report.entries) {
        std::cout << std::left << std::setw(16) << e.slideId << ' ';
        if (e.imported)
            std::cout << e.count << " x " << e.dim << " (" << e.sourceFormat << ")\n";
        else
            std::cout << "skipped: " << e.reason << '\n';
    }
    std::cout << "Imported " << report.importedCount() << " of " << report.entries.size() << " files from "
              << report.scannedDirectory.string() << " -> " << destination.string() << '\n';
    return report.skippedCount() == 0 ? 0 : 1;
}

} // namespace icmil::cli
