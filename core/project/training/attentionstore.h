// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A model's output for one slide, stored beside the features it was computed on (see
// projectlayout.h): what the heatmap layer draws and what `icmil export` tabulates.
//
//   dataset        type              meaning
//   coords         int64 N x 2       level-0 top-left corner of each patch (the features' order)
//   attention      float32 N         normalised attention (sums to 1 over the slide)
//   attention_raw  float32 N         the attention network's score before normalisation
//   probabilities  float32 C         the slide's class probabilities
//   instance_scores float32 N x C    the instance view: per patch, the softmax of the model's
//                                    instance head (engine::MilModel::instanceLogits); optional,
//                                    absent from files written before it (read back as empty)
//   attributes on "/": slide_id, model_type, run, encoder, class_names (";"-joined),
//   predicted (class index), patch_size_level0 (when known)

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

struct SlideAttention {
    std::string slideId;
    std::vector<std::array<std::int64_t, 2>> coords;
    std::vector<float> attention;
    std::vector<float> attentionRaw;
    std::vector<double> probabilities;
    std::vector<float> instanceScores;   // N x C row-major, per-patch class probabilities; empty when absent
    std::vector<std::string> classNames; // class index -> name; may be empty
    int predicted = -1;
    std::string modelType;
    std::string run;
    std::string encoder;
    std::optional<std::int64_t> patchSizeLevel0;
};

// The instance view of one class: column `classIndex` of instanceScores, one value per patch;
// empty when the slide has no instance scores or no such class.
std::vector<float> instanceScoresOfClass(const SlideAttention &slide, std::size_t classIndex);

// Atomic (in-memory HDF5, temp file, fsync, rename). Throws ProjectError
// "Cannot write attention to 'x.h5': <cause>" (sizes that disagree included: instance scores
// must be empty or N x C, C the number of probabilities).
void writeAttentionFile(const std::filesystem::path &path, const SlideAttention &slide);
// Throws ProjectError "Cannot read attention from 'x.h5': <cause>" (a missing dataset, lengths
// that disagree). A file without instance_scores reads with instanceScores empty.
SlideAttention readAttentionFile(const std::filesystem::path &path);

} // namespace icmil::project
