// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Ground truth for attention: the tumour masks a synthetic dataset carries (dataset.json,
// masks/<slide>_tumor.png at 1/mask_downsample of level 0), and the scores that compare a model's
// per-patch scores with them:
//   patch AUC     every patch of a tumour slide ranked by score against "its centre lies in
//                 tumour": 0.5 is chance, 1 is perfect localisation;
//   top-10%       the fraction of the slide's 10% highest-scoring patches that lie in tumour,
//                 with its ceiling min(1, tumour patches / top-10% count) (small tumours cover
//                 far less than 10% of the tissue).
// Slides whose patch grid has no tumour patch, or only tumour patches, are left out.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

struct LocalisationScore {
    int slides = 0;        // tumour slides scored
    double patchAuc = 0.0; // means over those slides
    double topFraction = 0.0;
    double ceiling = 0.0;
};

// Accumulates slides, then gives the means.
class LocalisationAccumulator {
public:
    // `tumour` 1/0 and `scores` per patch, same length. Returns false (and adds nothing) when the
    // slide has no tumour patch or nothing else.
    bool add(const std::vector<int> &tumour, const std::vector<double> &scores);
    LocalisationScore score() const;

private:
    LocalisationScore m_sum;
};

class TumourGroundTruth {
public:
    // The ground truth of the dataset in `datasetDir` (its dataset.json); nothing when the folder
    // has no dataset.json (not a synthetic dataset). Throws ProjectError for a damaged one.
    static std::optional<TumourGroundTruth> load(const std::filesystem::path &datasetDir);

    // Whether the slide is one of the dataset's tumour slides (its mask exists).
    bool hasTumour(const std::string &slideId) const;
    std::vector<std::string> tumourSlides() const;
    // 1 where the centre of the patch (level-0 top-left corner, level-0 size) lies in tumour.
    // Throws ProjectError when the slide's mask cannot be read.
    std::vector<int> patchLabels(const std::string &slideId, const std::vector<std::array<std::int64_t, 2>> &coords,
                                 std::int64_t patchSizeLevel0) const;

private:
    std::filesystem::path m_dir;
    int m_maskDownsample = 32;
    std::map<std::string, std::filesystem::path> m_tumourMasks; // slide id -> mask PNG
};

// The attention of one run (features/<encoder>/attention/<run>/) against the ground truth, over
// every tumour slide that has an attention file there (`slideIds` empty: all of them).
// Throws ProjectError for an unreadable attention file or mask.
LocalisationScore localiseAttention(const TumourGroundTruth &truth, const std::filesystem::path &attentionDir,
                                    const std::vector<std::string> &slideIds = {});

// The attention of a run of the project at `projectRoot` (its features/<encoder>/attention/<run>/)
// against the ground truth of the slides in `slidesDir` (the project root when empty), over every
// tumour slide: what `icmil run` and the training panel show per ICMIL iteration. Nothing when the
// slides are not a synthetic dataset or no tumour slide has attention there. Throws ProjectError
// for a damaged dataset.json, mask or attention file.
std::optional<LocalisationScore> localiseRunAttention(const std::filesystem::path &slidesDir, const std::filesystem::path &projectRoot,
                                                      const std::string &encoder, const std::string &run);

} // namespace icmil::project
