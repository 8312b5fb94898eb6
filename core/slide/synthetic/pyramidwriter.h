// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

namespace icmil::slide {

struct SyntheticSlideConfig;
class TissuePhantom;
class AperioTiffWriter;
class RawLevelFile;
class ReducedLevelChain;

struct PyramidLevelSize {
    std::int64_t width = 0;
    std::int64_t height = 0;
};

// Writes the whole Aperio SVS of a phantom: level 0 rendered tile by tile on worker threads and
// shrunk on the fly into temporary raw files for the coarser levels, then the thumbnail, the
// coarser levels from those files, the label and the macro. Memory stays at two bands of tiles.
// Errors (and cancellation) throw std::runtime_error whose message is the cause only.
class PyramidWriter {
public:
    using ProgressCallback = std::function<void(double fraction)>;

    PyramidWriter(const SyntheticSlideConfig &config, const TissuePhantom &phantom, const std::atomic_bool &cancelled,
                  ProgressCallback progress);

    // Level 0 and ceil(previous / factor) sizes while the previous level's long side exceeds 512.
    static std::vector<PyramidLevelSize> levelSizes(std::int64_t width, std::int64_t height, int factor);

    // Writes the SVS to `path`; temporary files go next to it and are always removed.
    void write(const std::filesystem::path &path);

    int levelCount() const { return static_cast<int>(m_levels.size()); }

private:
    void writeLevelZero(AperioTiffWriter &tiff, ReducedLevelChain &reduced);
    void writeReducedLevel(AperioTiffWriter &tiff, int level, const ReducedLevelChain &reduced);
    cv::Mat makeThumbnail(std::vector<RawLevelFile *> &rawLevels) const;
    std::string description(int level) const;
    std::string associatedDescription(const std::string &name, int width, int height) const;
    void tilesDone(std::int64_t pixels); // progress (throttled) and cancellation
    void checkCancelled() const;

    const SyntheticSlideConfig &m_config;
    const TissuePhantom &m_phantom;
    const std::atomic_bool &m_cancelled;
    ProgressCallback m_progress;
    int m_workers;
    std::vector<PyramidLevelSize> m_levels;
    double m_totalPixels = 0.0;
    double m_donePixels = 0.0;
    std::chrono::steady_clock::time_point m_lastReport;
};

} // namespace icmil::slide
