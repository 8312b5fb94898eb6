// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/annotations/annotationset.h"
#include "project/training/attentionstore.h"

#include <array>
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

// The instance view's regions: the patches whose instance score (the probability of the last
// class, the positive one of normal/tumour) is at least `threshold`, merged the same way. Throws
// ProjectError when the slide has patches but no instance scores (an attention file written
// before them).
AnnotationSet instanceScoreRegions(const SlideAttention &slide, std::int64_t patchSizeLevel0, double threshold,
                                   const std::string &className = "High instance score", std::array<int, 3> colour = {220, 20, 60});

enum class RegionMap {
    Attention,     // attentionRegions: `threshold` is a percentile rank
    InstanceScore, // instanceScoreRegions: `threshold` is a probability
};

// The regions of `map`, written as a QuPath GeoJSON FeatureCollection (atomic) with `offset` (the
// slide's bounds offset, qupathoffset.h) subtracted from every point, as QuPath places them.
// Returns the region count.
std::size_t writeAttentionRegionsGeoJson(const std::filesystem::path &path, const SlideAttention &slide, std::int64_t patchSizeLevel0,
                                         double threshold, const std::array<double, 2> &offset = {0.0, 0.0},
                                         RegionMap map = RegionMap::Attention);

} // namespace icmil::project
