// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/features/patchattributes.h"
#include "project/projectlayout.h"
#include "slide/tissue/patchgrid.h"
#include "slide/tissue/tissuedetectionparams.h"
#include "slide/tissue/tissuemap.h"

#include <string>
#include <vector>

namespace icmil::slide {
class SlideSource;
}

namespace icmil::project {

struct TilingConfig {
    slide::TissueDetectionParams tissue;
    slide::PatchGridParams grid;
    // Patching limited by the slide's imported annotations (annotations/annotationimport.h):
    // keep patches whose centre lies in one of these classes; drop those touching these.
    std::vector<std::string> roiClasses;
    std::vector<std::string> excludeClasses;

    bool limitedByAnnotations() const { return !roiClasses.empty() || !excludeClasses.empty(); }
};

// The settings that decide which patches a grid keeps (every tissue detector setting that changes
// its mask, and the minimum tissue per patch), as a JSON object in one line. Patch files record it,
// so a project re-tiles a slide when any of them changes; the ICMIL loop saves it with its settings.
std::string tissueSettingsKey(const TilingConfig &config);

// Why tiling with these settings kept no patches and what to change, for messages about slides
// (or datasets) without patches: "tissue detection (preset default) kept no patch with at least
// 25% tissue. Presets default, ... choose the tissue preset bwh_biopsy (...)."
std::string noTissueAdvice(const std::string &preset, bool otsu, double minTissuePerPatch);
std::string noTissueAdvice(const TilingConfig &config);

// The same for one slide, from what its tissue detection saw (TissueMap::stats()): tissue found
// but no patch with enough of it; tissue-like pixels in pieces all below the minimum area; only
// faint saturation that Otsu's threshold would separate (and the threshold to use); or a blank
// slide. One or two sentences that name the setting to change.
std::string noPatchesAdvice(const slide::TissueMap &tissue, const TilingConfig &config);

// One slide's tiling, as `icmil tile` and the extractor use it.
struct SlideTiling {
    slide::PatchGrid grid;                   // coords + how to read them
    PatchAttributes attributes;              // as written to (or read from) the patch file
    double tissueFraction = 0.0;             // of the whole slide
    bool reused = false;                     // read from an existing patch file instead of computed
    slide::TissueDetectionStats tissueStats; // what detection used (not for a reused patch file)
    std::string noPatches;                   // no patch: why, and what to change (noPatchesAdvice)
};

// Step 0a for one slide: tissue detection and the patch grid, written to the project
// (tissue mask PNG, tissue GeoJSON, patch coordinates file; each atomically). A patch file
// already in the project is reused when it was made with the same patch geometry (patch size,
// target magnification or level, step) and the same tissue settings (tissueSettingsKey), so a
// resumed run never re-tiles and a changed tissue preset always does.
// Throws SlideError / ProjectError with the reader's or writer's message.
class SlideTiler {
public:
    SlideTiler(ProjectLayout layout, TilingConfig config);

    SlideTiling tile(const slide::SlideSource &source, const std::string &slideId) const;

    const TilingConfig &config() const { return m_config; }

private:
    // Detection, the grid, the annotation limits and why nothing is left when nothing is: what
    // tile() writes, and what it tells again for a reused patch file without patches.
    SlideTiling computeTiling(const slide::SlideSource &source, const std::string &slideId, slide::TissueMap &tissue) const;
    void limitToAnnotations(SlideTiling &tiling, const std::string &slideId) const;

    ProjectLayout m_layout;
    TilingConfig m_config;
};

} // namespace icmil::project
