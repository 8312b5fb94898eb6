// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/tilerowpipeline.h"

#include "slide/synthetic/jpegtileencoder.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace icmil::slide {

namespace {

// State shared by the caller and the workers; everything below `mutex` is guarded by it.
struct SharedState {
    std::mutex mutex;
    std::condition_variable workAvailable;
    std::condition_variable tileReady;
    std::int64_t tilesHandedOut = 0; // tiles of dispatched rows
    std::int64_t nextTile = 0;
    bool stopping = false;
    std::exception_ptr failure;
    std::vector<std::vector<std::uint8_t>> encoded; // two rows of slots
    std::vector<char> ready;
};

} // namespace

TileRowPipeline::TileRowPipeline(int workers, int tileSize, int jpegQuality)
    : m_workers(workers < 1 ? 1 : workers), m_tileSize(tileSize), m_jpegQuality(jpegQuality)
{ }

void TileRowPipeline::run(std::int64_t tilesAcross, std::int64_t tilesDown, const Steps &steps)
{
    const std::size_t stride = static_cast<std::size_t>(tilesAcross) * m_tileSize * 3;
    const std::size_t bandBytes = stride * static_cast<std::size_t>(m_tileSize);
    std::vector<std::uint8_t> bands[2] = {std::vector<std::uint8_t>(bandBytes), std::vector<std::uint8_t>(bandBytes)};
    SharedState state;
    state.encoded.resize(static_cast<std::size_t>(2 * tilesAcross));
    state.ready.assign(static_cast<std::size_t>(2 * tilesAcross), 0);
    const std::int64_t totalTiles = tilesAcross * tilesDown;

    auto work = [&](int worker) {
        try {
            JpegTileEncoder encoder(m_jpegQuality);
            std::vector<std::uint8_t> jpeg;
            for (;;) {
                std::int64_t tile = 0;
                {
                    std::unique_lock lock(state.mutex);
                    state.workAvailable.wait(lock, [&] { return state.stopping || state.nextTile < state.tilesHandedOut; });
                    if (state.stopping)
                        return;
                    tile = state.nextTile++;
                }
                const std::int64_t row = tile / tilesAcross;
                const std::int64_t column = tile % tilesAcross;
                std::uint8_t *pixels = bands[row % 2].data() + static_cast<std::size_t>(column) * m_tileSize * 3;
                if (steps.renderTile)
                    steps.renderTile(row, column, pixels, stride, worker);
                encoder.encode(pixels, stride, m_tileSize, m_tileSize, jpeg);
                const std::size_t slot = static_cast<std::size_t>((row % 2) * tilesAcross + column);
                {
                    std::lock_guard lock(state.mutex);
                    state.encoded[slot].swap(jpeg);
                    state.ready[slot] = 1;
                }
                state.tileReady.notify_one();
            }
        } catch (...) {
            {
                std::lock_guard lock(state.mutex);
                if (!state.failure)
                    state.failure = std::current_exception();
                state.stopping = true;
            }
            state.workAvailable.notify_all();
            state.tileReady.notify_all();
        }
    };

    std::vector<std::thread> threads;
    auto stopAll = [&] {
        {
            std::lock_guard lock(state.mutex);
            state.stopping = true;
        }
        state.workAvailable.notify_all();
        for (std::thread &thread : threads)
            thread.join();
        threads.clear();
    };

    try {
        auto dispatchRow = [&](std::int64_t row) {
            if (steps.prepareRow)
                steps.prepareRow(row, bands[row % 2].data(), stride);
            {
                std::lock_guard lock(state.mutex);
                state.tilesHandedOut = std::min(totalTiles, (row + 1) * tilesAcross);
            }
            state.workAvailable.notify_all();
        };
        threads.reserve(static_cast<std::size_t>(m_workers));
        for (int worker = 0; worker < m_workers; ++worker)
            threads.emplace_back(work, worker);
        for (std::int64_t row = 0; row < std::min<std::int64_t>(2, tilesDown); ++row)
            dispatchRow(row);
        std::vector<std::uint8_t> jpeg;
        for (std::int64_t row = 0; row < tilesDown; ++row) {
            for (std::int64_t column = 0; column < tilesAcross; ++column) {
                const std::size_t slot = static_cast<std::size_t>((row % 2) * tilesAcross + column);
                {
                    std::unique_lock lock(state.mutex);
                    state.tileReady.wait(lock, [&] { return state.ready[slot] != 0 || state.failure; });
                    if (state.failure)
                        std::rethrow_exception(state.failure);
                    jpeg.swap(state.encoded[slot]);
                    state.ready[slot] = 0;
                }
                steps.storeTile(row, column, jpeg);
            }
            if (steps.finishRow)
                steps.finishRow(row, bands[row % 2].data(), stride);
            if (steps.afterRow)
                steps.afterRow(row + 1);
            if (row + 2 < tilesDown)
                dispatchRow(row + 2);
        }
    } catch (...) {
        stopAll();
        throw;
    }
    stopAll();
}

} // namespace icmil::slide
