// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/annotations/annotationset.h"
#include "project/training/attentionstore.h"

#include <cstdint>
#include <filesystem>
#include <string>

namespace icmil::project {

// The slide's most attended tissue as QuPath annotations: the patches whose attention percentile
// rank (attentiongeojson.h's attention_rank: 0 lowest, 1 highest) is at least `threshold`,
// merged where they touch into polygons with holes, not one square per patch. Outlines follow the
// patch edges to within 1/16 of a patch (the patch lattice is traced at 16 pixels per step).
// The annotations have class `className` and colour `colour`.
AnnotationSet attentionRegions(const SlideAttention &slide, std::int64_t patchSizeLevel0, double threshold,
                               const std::string &className = "High attention", std::array<int, 3> colour = {255, 140, 0});

// The same, written as a QuPath GeoJSON FeatureCollection (atomic). Returns the region count.
std::size_t writeAttentionRegionsGeoJson(const std::filesystem::path &path, const SlideAttention &slide, std::int64_t patchSizeLevel0,
                                         double threshold);

} // namespace icmil::project
