// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/slidetiler.h"

#include "common/listtext.h"
#include "project/annotations/annotationimport.h"
#include "project/atomicfile.h"
#include "project/features/featurestore.h"
#include "slide/io/slidesource.h"
#include "slide/slideerror.h"
#include "slide/tissue/tissuedetector.h"
#include "slide/tissue/tissuegeojson.h"
#include "slide/tissue/tissuemaskpng.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <utility>

namespace icmil::project {

namespace {

namespace fs = std::filesystem;

// What a patch file records about the grid, so the project can tell it was made the same way.
PatchAttributes attributesOf(const slide::SlideSource &source, const slide::PatchGrid &grid)
{
    PatchAttributes a;
    a.patchSize = grid.patchSize;
    a.patchLevel = grid.patchLevel;
    a.patchSizeLevel0 = grid.level0PatchSize;
    a.targetMagnification = grid.targetMagnification;
    a.level0Magnification = grid.level0Magnification;
    // Pixels shared by neighbours, at the patches' own resolution.
    a.overlap = std::llround(static_cast<double>(grid.level0PatchSize - grid.level0Step) * grid.patchSize
                             / static_cast<double>(grid.level0PatchSize));
    const slide::LevelInfo &level = source.level(grid.readLevel);
    a.levelDownsample = std::array<double, 2>{level.downsample, level.downsample};
    a.levelDimensions = std::array<std::int64_t, 2>{level.width, level.height};
    a.level0Dimensions = std::array<std::int64_t, 2>{source.level(0).width, source.level(0).height};
    return a;
}

bool sameGeometry(const PatchAttributes &stored, const PatchAttributes &wanted)
{
    return stored.patchSize == wanted.patchSize && stored.patchSizeLevel0 == wanted.patchSizeLevel0 && stored.overlap == wanted.overlap
        && stored.targetMagnification == wanted.targetMagnification && stored.patchLevel == wanted.patchLevel
        && stored.level0Dimensions == wanted.level0Dimensions;
}

} // namespace

std::string tissueSettingsKey(const TilingConfig &config)
{
    const slide::TissueDetectionParams &t = config.tissue;
    // Not the reader threads: they change the speed, not the mask.
    const nlohmann::json key = {{"preset", t.presetName},
                                {"seg_level", t.segLevel},
                                {"target_downsample", t.targetDownsample},
                                {"max_mask_pixels", t.maxMaskPixels},
                                {"white_balance", t.whiteBalance},
                                {"saturation_threshold", t.saturationThreshold},
                                {"otsu", t.useOtsu},
                                {"median_kernel", t.medianKernel},
                                {"close_kernel", t.closeKernel},
                                {"min_tissue_area_mm2", t.minTissueAreaMm2},
                                {"min_hole_area_mm2", t.minHoleAreaMm2},
                                {"max_holes", t.maxHoles},
                                {"max_area_fraction", t.maxAreaFraction},
                                {"assumed_mpp", t.assumedMpp},
                                {"min_tissue_per_patch", config.grid.minTissueFraction}};
    // Only when set, so that the key of a project without annotations stays what it was.
    nlohmann::json withAnnotations = key;
    if (!config.roiClasses.empty())
        withAnnotations["roi"] = config.roiClasses;
    if (!config.excludeClasses.empty())
        withAnnotations["exclude"] = config.excludeClasses;
    return withAnnotations.dump();
}

std::string noTissueAdvice(const std::string &preset, bool otsu, double minTissuePerPatch)
{
    const int percent = static_cast<int>(std::lround(100.0 * minTissuePerPatch));
    std::string advice = "tissue detection (preset " + preset + (otsu ? ", Otsu" : "") + ") kept no patch with at least "
        + std::to_string(percent) + "% tissue.";
    if (preset != "bwh_biopsy")
        advice += " The slide may hold no tissue, faint tissue or only small pieces: choose the tissue preset bwh_biopsy, which"
                  " keeps pieces from 0.016 mm2 and fainter stain (icmil run --preset bwh_biopsy; Tissue preset in the app's"
                  " Training dock), lower the minimum tissue area (--min-tissue-area, mm2) or the saturation threshold"
                  " (--saturation-threshold)";
    else
        advice += " The slide may hold no tissue, or only faint tissue: look at it, or lower the saturation threshold"
                  " (--saturation-threshold)";
    return advice + (percent > 10 ? ", or lower the minimum tissue per patch (--min-tissue; Minimum tissue in the Training dock)." : ".");
}

std::string noTissueAdvice(const TilingConfig &config)
{
    return noTissueAdvice(config.tissue.presetName, config.tissue.useOtsu, config.grid.minTissueFraction);
}

std::string noPatchesAdvice(const slide::TissueMap &tissue, const TilingConfig &config)
{
    const slide::TissueDetectionStats &stats = tissue.stats();
    auto percent = [](double fraction) {
        std::ostringstream out;
        if (fraction < 0.0001)
            return std::string("under 0.01%");
        out << std::fixed << std::setprecision(fraction < 0.01 ? 2 : 1) << 100.0 * fraction << '%';
        return out.str();
    };
    auto number = [](double value) {
        std::ostringstream out;
        out << std::setprecision(3) << value;
        return out.str();
    };
    const std::string preset = "tissue detection (preset " + config.tissue.presetName + (config.tissue.useOtsu ? ", Otsu" : "") + ")";
    if (!tissue.isEmpty()) {
        const int wanted = static_cast<int>(std::lround(100.0 * config.grid.minTissueFraction));
        return preset + " found " + percent(tissue.tissueFraction()) + " of the slide as tissue, but no patch has at least "
            + std::to_string(wanted)
            + "% tissue: lower the minimum tissue per patch (--min-tissue; Minimum tissue in the"
              " Training dock) or the patch size.";
    }
    if (stats.candidateFraction > 0.0)
        return preset + ": " + percent(stats.candidateFraction) + " of the slide has the saturation of tissue (above "
            + std::to_string(stats.threshold) + "), but no piece of it is larger than the minimum tissue area of "
            + number(stats.minTissueAreaMm2) + " mm2 (at " + number(stats.mppX) + " um/px, " + stats.mppSource
            + "): lower it (--min-tissue-area, mm2)"
            + (stats.minTissueAreaMm2 > slide::TissueDetectionParams::preset("bwh_biopsy").minTissueAreaMm2
                   ? " or choose the tissue preset bwh_biopsy (Tissue preset in the app's Training dock)."
                   : ", if those pieces are tissue.");
    if (stats.otsuThreshold < stats.threshold && stats.otsuFraction >= 0.005 && stats.otsuFraction <= 0.95)
        return preset + ": no part of the slide has a saturation above " + std::to_string(stats.threshold) + ", but "
            + percent(stats.otsuFraction) + " of it stands out above " + std::to_string(stats.otsuThreshold)
            + " (Otsu's threshold): if that is faint tissue, lower the saturation threshold (--saturation-threshold "
            + std::to_string(stats.otsuThreshold) + ").";
    return preset + ": the slide looks blank (no part of it has a saturation above " + std::to_string(stats.threshold)
        + ", and none stands out from the rest).";
}

void SlideTiler::limitToAnnotations(SlideTiling &tiling, const std::string &slideId) const
{
    const std::filesystem::path file = annotationFile(m_layout.root(), slideId);
    std::error_code ec;
    AnnotationSet set;
    if (fs::exists(file, ec))
        set = readProjectAnnotations(file);
    else if (!m_config.roiClasses.empty()) {
        tiling.grid.coords.clear();
        tiling.noPatches = "the slide has no annotations, and patches are limited to annotations of " + listSome(m_config.roiClasses)
            + " (--roi): import them (icmil annotations import) or leave --roi out.";
        return;
    }
    const AnnotationPatchFilter filter(set, m_config.roiClasses, m_config.excludeClasses);
    const auto size = static_cast<double>(tiling.grid.level0PatchSize);
    std::erase_if(tiling.grid.coords,
                  [&](const slide::PatchCoord &c) { return !filter.keeps(static_cast<double>(c.x), static_cast<double>(c.y), size); });
    if (tiling.grid.coords.empty()) {
        std::string classes = set.classNames().empty() ? std::string("none") : listSome(set.classNames());
        tiling.noPatches = "no tissue patch "
            + (!m_config.roiClasses.empty() ? "has its centre in an annotation of " + listSome(m_config.roiClasses) + " (--roi)"
                                            : std::string())
            + (!m_config.roiClasses.empty() && !m_config.excludeClasses.empty() ? " without touching " : "")
            + (m_config.roiClasses.empty() ? "is clear of annotations of " : "")
            + (!m_config.excludeClasses.empty() ? listSome(m_config.excludeClasses) + " (--exclude)" : std::string())
            + "; the slide's annotation classes: " + classes + ".";
    }
}

SlideTiling SlideTiler::computeTiling(const slide::SlideSource &source, const std::string &slideId, slide::TissueMap &tissue) const
{
    tissue = slide::TissueDetector(m_config.tissue).detect(source);
    SlideTiling tiling;
    tiling.grid = slide::PatchGrid::build(source, &tissue, m_config.grid);
    tiling.tissueFraction = tissue.tissueFraction();
    tiling.tissueStats = tissue.stats();
    if (!tiling.grid.coords.empty() && m_config.limitedByAnnotations())
        limitToAnnotations(tiling, slideId);
    if (tiling.grid.coords.empty() && tiling.noPatches.empty())
        tiling.noPatches = noPatchesAdvice(tissue, m_config);
    return tiling;
}

SlideTiler::SlideTiler(ProjectLayout layout, TilingConfig config) : m_layout(std::move(layout)), m_config(std::move(config))
{ }

SlideTiling SlideTiler::tile(const slide::SlideSource &source, const std::string &slideId) const
{
    const fs::path patchFile = m_layout.patchFile(slideId);
    std::error_code ec;
    if (fs::exists(patchFile, ec)) {
        // The grid's geometry without tissue (cheap: no pixels read), to compare with the file's.
        slide::PatchGrid grid = slide::PatchGrid::build(source, nullptr, m_config.grid);
        const PatchCoordinates stored = readPatchFile(patchFile);
        if (sameGeometry(stored.attributes, attributesOf(source, grid))
            && stored.attributes.tissueSettings == tissueSettingsKey(m_config)) {
            grid.coords.clear();
            grid.coords.reserve(stored.coords.size());
            for (const auto &c : stored.coords)
                grid.coords.push_back({c[0], c[1]});
            SlideTiling tiling;
            tiling.grid = std::move(grid);
            tiling.attributes = stored.attributes;
            tiling.reused = true;
            if (tiling.grid.coords.empty()) { // why: the tiling again (cheap), nothing rewritten
                slide::TissueMap tissue;
                const SlideTiling fresh = computeTiling(source, slideId, tissue);
                tiling.noPatches = fresh.noPatches.empty() ? noPatchesAdvice(tissue, m_config) : fresh.noPatches;
            }
            return tiling;
        }
    }

    slide::TissueMap tissue;
    SlideTiling tiling = computeTiling(source, slideId, tissue);

    fs::create_directories(m_layout.tissueDir(), ec);
    fs::create_directories(m_layout.patchesDir(), ec);
    if (!tissue.isEmpty()) {
        try {
            slide::TissueMaskPng::write(tissue, m_layout.tissueMaskFile(slideId));
            slide::TissueGeoJson::write(tissue, m_layout.tissueGeoJsonFile(slideId));
        } catch (const slide::SlideError &e) { // the project's folder, not the slide: stop (see ProjectWriteError)
            throw ProjectWriteError(e.what());
        }
    } else { // no tissue now: an earlier tiling's mask and contours would say otherwise
        fs::remove(m_layout.tissueMaskFile(slideId), ec);
        fs::remove(m_layout.tissueGeoJsonFile(slideId), ec);
    }
    PatchCoordinates patches;
    patches.slideId = slideId;
    patches.attributes = attributesOf(source, tiling.grid);
    patches.attributes.tissueSettings = tissueSettingsKey(m_config);
    tiling.attributes = patches.attributes;
    patches.coords.reserve(tiling.grid.coords.size());
    for (const slide::PatchCoord &c : tiling.grid.coords)
        patches.coords.push_back({c.x, c.y});
    writePatchFile(patchFile, patches);
    return tiling;
}

} // namespace icmil::project
