// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "slide/synthetic/aperiotiffwriter.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

namespace icmil::slide {

class AreaDownsampler;
class RawLevelFile;

// The reduced levels of a tiled pyramid while its level 0 is written row by row (the synthetic
// slide, exported heatmaps): each level-0 row is shrunk by `factor` into a temporary raw file of
// level 1, whose rows are shrunk into level 2's, and so on; once level 0 is complete each level
// is written from its file as JPEG tiles. Memory is one accumulator row per level; the files
// ("<base>.level<k>.raw", beside the output) are removed when the chain goes away.
// Errors throw std::runtime_error whose message is the cause only.
class ReducedLevelChain {
public:
    // `count` levels below a width x height level 0, each ceil(previous / factor).
    ReducedLevelChain(const std::filesystem::path &base, std::int64_t width, std::int64_t height, int factor, std::size_t count);
    ~ReducedLevelChain();
    ReducedLevelChain(const ReducedLevelChain &) = delete;
    ReducedLevelChain &operator=(const ReducedLevelChain &) = delete;

    // The next level-0 row (width RGB pixels).
    void addRow(const std::uint8_t *row);
    // Level 0 is complete: every file is read from its first row.
    void rewind();

    std::size_t count() const { return m_files.size(); }
    // Level k = 1..count(), as a raw file.
    RawLevelFile &level(std::size_t k) const;
    std::vector<RawLevelFile *> files() const;

    // Writes level k from its file as one tiled directory of `tags` (its size is the level's):
    // JPEG tiles encoded by `workers` threads, filled with `background` beyond the level's edge.
    // `afterRow` (may be empty) runs after each row of tiles, for progress and cancellation.
    void writeLevel(std::size_t k, AperioTiffWriter &tiff, AperioTiffWriter::TiledLevel tags, int workers, int jpegQuality,
                    std::uint8_t background, const std::function<void(std::int64_t rowsDone)> &afterRow) const;

private:
    std::vector<std::unique_ptr<RawLevelFile>> m_files;
    std::vector<std::unique_ptr<AreaDownsampler>> m_shrinkers;
};

} // namespace icmil::slide
