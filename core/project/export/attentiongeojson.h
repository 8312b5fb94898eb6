// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/training/attentionstore.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

namespace icmil::project {

// A slide's attention as GeoJSON that QuPath imports (File > Import objects, or drag the file
// onto the image): a FeatureCollection with one detection per patch, its square as a closed
// Polygon ring in QuPath's full-resolution pixels: level-0 pixels minus `offset`, the slide's
// bounds offset (qupathoffset.h; {0, 0} for a slide that is not cropped), and
//   properties: {"objectType": "detection", "name": "Patch 17",
//                "measurements": {"attention": ..., "attention_raw": ..., "attention_rank": ...,
//                                 "instance_score": ...}}
// attention_rank is the patch's percentile rank by raw score, rank / (n - 1) from 0 (lowest) to
// 1 (highest), ties sharing their average rank, as CLAM's heatmaps show it (0.5 for one patch).
// instance_score, only when the attention file has instance scores: the instance view's
// probability of the last class (the positive one of normal/tumour).
std::string formatAttentionGeoJson(const SlideAttention &slide, std::int64_t patchSizeLevel0,
                                   const std::array<double, 2> &offset = {0.0, 0.0});

// Atomic (temp file, fsync, rename). Throws ProjectError "Cannot write '<path>': <cause>", for
// lengths that disagree, a patch size that is not positive or differs from the one recorded with
// the attention, a score that is not a number, and the file system's own errors.
void writeAttentionGeoJson(const std::filesystem::path &path, const SlideAttention &slide, std::int64_t patchSizeLevel0,
                           const std::array<double, 2> &offset = {0.0, 0.0});

} // namespace icmil::project
