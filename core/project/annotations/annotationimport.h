// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Bringing pathologists' annotations into a project, and patching limited by them.
//
// importAnnotations: QuPath GeoJSON (.geojson, .json) and ASAP XML (.xml) files, one file or a
// folder of them, matched to the project's slides by file stem (slide_001.geojson and
// slide_001.xml both belong to slide_001; QuPath's "slide_001.svs.geojson" too). Each file is
// read against its slide's size (coordinates outside it are refused) and QuPath's coordinates
// are moved by the slide's OpenSlide bounds; the result is stored as
// PROJECT/annotations/<slide>.geojson (annotationset.h). A slide's patch file and the feature
// files whose patches were chosen by annotations (--roi / --exclude) are removed, so the next
// tiling uses the new annotations. A bad file (broken, unknown geometry, outside the slide, no
// such slide) is reported with its reason and the others are imported.
//
// AnnotationPatchFilter: --roi CLASS[,CLASS] keeps a patch whose centre lies in an annotation of
// one of those classes (and not in an Exclusion, Camelyon16's "_2"); --exclude CLASS[,CLASS]
// drops a patch that touches an annotation of those classes (pen marks, folds, artefacts).

#include "project/annotations/annotationset.h"
#include "project/dataset/slidelist.h"
#include "project/export/tumourgroundtruth.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace icmil::project {

struct AnnotationImportEntry {
    std::filesystem::path file;
    std::string slideId; // "" when no slide matched
    bool imported = false;
    std::size_t annotations = 0;
    std::vector<std::string> classNames;
    std::string reason; // why not imported
};

struct AnnotationImportReport {
    std::vector<AnnotationImportEntry> entries;
    std::size_t importedCount() const;
};

// `slides`: the project's slides (to match and to size). Throws ProjectError only for a source
// that does not exist or holds no annotation files.
AnnotationImportReport importAnnotations(const std::filesystem::path &projectRoot, const std::filesystem::path &source,
                                         const std::vector<SlideEntry> &slides);

// PROJECT/annotations/<slide>.geojson
std::filesystem::path annotationFile(const std::filesystem::path &projectRoot, const std::string &slideId);

// 1 where the centre of the patch (level-0 top-left corner, level-0 size) lies in an annotation
// of `className` (ASCII case-insensitive; "tumor" also matches "Tumour") and not in an
// Exclusion, else 0. Detections count like annotations.
std::vector<int> annotatedPatchLabels(const AnnotationSet &set, const std::string &className,
                                      const std::vector<std::array<std::int64_t, 2>> &coords, std::int64_t patchSizeLevel0);
// Whether the set has an annotation of that class (as annotatedPatchLabels matches it).
bool hasAnnotationClass(const AnnotationSet &set, const std::string &className);

// The attention of one run (features/<encoder>/attention/<run>/) against the project's imported
// annotations of `className`, over the slides that have both (patch AUC and top-10% as
// tumourgroundtruth.h defines them). `slideIds` empty: every slide with annotations.
LocalisationScore localiseAgainstAnnotations(const std::filesystem::path &projectRoot, const std::filesystem::path &attentionDir,
                                             const std::string &className, const std::vector<std::string> &slideIds = {});

// Comma-separated class names -> list (trimmed, empty items dropped).
std::vector<std::string> classList(const std::string &text);

class AnnotationPatchFilter {
public:
    AnnotationPatchFilter(const AnnotationSet &set, std::vector<std::string> roiClasses, std::vector<std::string> excludeClasses);

    // The patch [x, x + size) x [y, y + size) in level-0 pixels.
    bool keeps(double x, double y, double size) const;

private:
    struct Shape {
        PolygonRings polygon;
        std::array<double, 4> bounds; // min x, min y, max x, max y
    };
    std::vector<std::string> m_roiClasses;
    std::vector<std::string> m_excludeClasses;
    std::vector<Shape> m_roi, m_exclusion, m_exclude;
};

} // namespace icmil::project
