// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace icmil::slide {

// Produces and JPEG-encodes the tiles of one pyramid level on worker threads while the calling
// thread stores them strictly in order. Tiles live in full-width bands of tile rows; two bands
// alternate, so the workers fill and encode row r + 1 while the caller stores and finishes row r.
// The output does not depend on the number of threads.
class TileRowPipeline {
public:
    struct Steps {
        // Caller thread, before the row's tiles are handed out: fill the band (may be empty).
        std::function<void(std::int64_t row, std::uint8_t *band, std::size_t stride)> prepareRow;
        // Worker thread: render the tile in place in the band (may be empty).
        std::function<void(std::int64_t row, std::int64_t column, std::uint8_t *tile, std::size_t stride, int worker)> renderTile;
        // Caller thread, in row-major order: store one encoded tile.
        std::function<void(std::int64_t row, std::int64_t column, const std::vector<std::uint8_t> &jpeg)> storeTile;
        // Caller thread, after all tiles of the row were stored; the band is still intact (may be empty).
        std::function<void(std::int64_t row, const std::uint8_t *band, std::size_t stride)> finishRow;
        // Caller thread, after each row: progress and cancellation (throw to stop).
        std::function<void(std::int64_t rowsDone)> afterRow;
    };

    TileRowPipeline(int workers, int tileSize, int jpegQuality);

    // Runs the steps over tilesAcross x tilesDown tiles. Exceptions from any step (either thread)
    // stop the workers and are rethrown here.
    void run(std::int64_t tilesAcross, std::int64_t tilesDown, const Steps &steps);

private:
    int m_workers;
    int m_tileSize;
    int m_jpegQuality;
};

} // namespace icmil::slide
