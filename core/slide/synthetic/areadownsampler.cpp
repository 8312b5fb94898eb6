// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/areadownsampler.h"

#include <utility>

namespace icmil::slide {

namespace {

// Adds `blocks` full blocks of `factor` pixels to the per-output-pixel sums (factor fixed at
// compile time when > 0, so the common factors unroll).
template <int Factor> void accumulate(const std::uint8_t *row, std::uint32_t *sums, std::int64_t blocks, int runtimeFactor)
{
    const int factor = Factor > 0 ? Factor : runtimeFactor;
    for (std::int64_t block = 0; block < blocks; ++block, row += 3 * factor, sums += 3) {
        std::uint32_t red = 0, green = 0, blue = 0;
        for (int k = 0; k < factor; ++k) {
            red += row[3 * k];
            green += row[3 * k + 1];
            blue += row[3 * k + 2];
        }
        sums[0] += red;
        sums[1] += green;
        sums[2] += blue;
    }
}

} // namespace

AreaDownsampler::AreaDownsampler(std::int64_t sourceWidth, std::int64_t sourceHeight, int factor, RowSink sink)
    : m_sourceWidth(sourceWidth), m_sourceHeight(sourceHeight), m_factor(factor), m_width((sourceWidth + factor - 1) / factor),
      m_height((sourceHeight + factor - 1) / factor), m_sums(static_cast<std::size_t>(m_width) * 3, 0),
      m_row(static_cast<std::size_t>(m_width) * 3), m_sink(std::move(sink))
{ }

void AreaDownsampler::addRow(const std::uint8_t *row)
{
    const std::int64_t fullBlocks = m_sourceWidth / m_factor;
    switch (m_factor) {
    case 2: accumulate<2>(row, m_sums.data(), fullBlocks, 2); break;
    case 4: accumulate<4>(row, m_sums.data(), fullBlocks, 4); break;
    default: accumulate<0>(row, m_sums.data(), fullBlocks, m_factor); break;
    }
    const std::int64_t rest = m_sourceWidth - fullBlocks * m_factor;
    if (rest > 0) { // the partial block at the right edge
        const std::uint8_t *tail = row + fullBlocks * m_factor * 3;
        std::uint32_t *sums = m_sums.data() + fullBlocks * 3;
        for (std::int64_t k = 0; k < rest; ++k)
            for (int channel = 0; channel < 3; ++channel)
                sums[channel] += tail[3 * k + channel];
    }
    ++m_sourceRow;
    ++m_rowsInBlock;
    if (m_rowsInBlock == m_factor || m_sourceRow == m_sourceHeight)
        emitRow();
}

void AreaDownsampler::emitRow()
{
    const std::int64_t fullBlocks = m_sourceWidth / m_factor;
    const auto fullCount = static_cast<std::uint32_t>(m_factor * m_rowsInBlock);
    const auto edgeCount = static_cast<std::uint32_t>((m_sourceWidth - fullBlocks * m_factor) * m_rowsInBlock);
    const std::size_t values = m_sums.size();
    for (std::size_t index = 0; index < values; ++index) {
        const std::uint32_t count = static_cast<std::int64_t>(index / 3) < fullBlocks ? fullCount : edgeCount;
        m_row[index] = static_cast<std::uint8_t>((m_sums[index] + count / 2) / count);
        m_sums[index] = 0;
    }
    m_rowsInBlock = 0;
    m_sink(m_row.data());
}

} // namespace icmil::slide
