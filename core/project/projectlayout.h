// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <filesystem>
#include <string>

namespace icmil::project {

// Where a project keeps what preprocessing makes, one file per slide (the CLI and the app share
// it, so a project made by one opens in the other):
//
//   <root>/patches/<slide_id>.h5              patch coordinates (CLAM's patches/ layout)
//   <root>/tissue/<slide_id>_mask.png          tissue mask at about 1/64
//   <root>/tissue/<slide_id>.geojson           tissue contours, level-0 coordinates (QuPath)
//   <root>/features/<encoder>/<slide_id>.h5    patch features (CLAM/TRIDENT compatible)
//   <root>/features/<encoder>/attention/<run>/<slide_id>.h5
//                                               a model's slide probabilities and per-patch
//                                               attention, beside the features it was computed on
//   <root>/runs/<run>/                          a training or prediction run: checkpoint.pth,
//                                               last.pth, training_log.csv/.json, metrics.json,
//                                               splits.csv, predictions.csv/.json, fold_<k>.csv
class ProjectLayout {
public:
    explicit ProjectLayout(std::filesystem::path root);

    const std::filesystem::path &root() const { return m_root; }
    std::filesystem::path patchesDir() const { return m_root / "patches"; }
    std::filesystem::path tissueDir() const { return m_root / "tissue"; }
    std::filesystem::path featuresDir(const std::string &encoder) const;

    std::filesystem::path patchFile(const std::string &slideId) const;
    std::filesystem::path tissueMaskFile(const std::string &slideId) const;
    std::filesystem::path tissueGeoJsonFile(const std::string &slideId) const;
    std::filesystem::path featureFile(const std::string &encoder, const std::string &slideId) const;
    std::filesystem::path runsDir() const { return m_root / "runs"; }
    std::filesystem::path runDir(const std::string &run) const;
    std::filesystem::path attentionDir(const std::string &encoder, const std::string &run) const;
    std::filesystem::path attentionFile(const std::string &encoder, const std::string &run, const std::string &slideId) const;

    // An encoder name as a folder name: path separators and other unsafe characters become '_'
    // ("/models/uni.pt" is named by its JSON, but a name is never trusted as a path).
    static std::string folderName(const std::string &encoder);

private:
    std::filesystem::path m_root;
};

} // namespace icmil::project
