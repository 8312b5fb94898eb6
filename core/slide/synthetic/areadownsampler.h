// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

namespace icmil::slide {

// Shrinks an RGB image streamed row by row by an integer factor, averaging each factor x factor
// block (the blocks at the right and bottom edges average only the pixels that exist, so the
// output is ceil(size / factor)). Each finished output row goes to the sink at once; memory is
// one accumulator row.
class AreaDownsampler {
public:
    using RowSink = std::function<void(const std::uint8_t *row)>;

    AreaDownsampler(std::int64_t sourceWidth, std::int64_t sourceHeight, int factor, RowSink sink);

    std::int64_t width() const { return m_width; }
    std::int64_t height() const { return m_height; }

    // Takes the next source row (sourceWidth RGB pixels).
    void addRow(const std::uint8_t *row);

private:
    void emitRow();

    std::int64_t m_sourceWidth;
    std::int64_t m_sourceHeight;
    int m_factor;
    std::int64_t m_width;
    std::int64_t m_height;
    std::int64_t m_sourceRow = 0;
    int m_rowsInBlock = 0;
    std::vector<std::uint32_t> m_sums; // per output pixel and channel, over the current block of rows
    std::vector<std::uint8_t> m_row;
    RowSink m_sink;
};

} // namespace icmil::slide
