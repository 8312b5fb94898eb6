// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/smoothrandomfield.h"

#include "slide/synthetic/seededrandom.h"

#include <cmath>

namespace icmil::slide {

void SmoothRandomField::prepare(double left, double top, double right, double bottom)
{
    m_firstColumn = static_cast<std::int64_t>(std::floor(left / m_cellSize));
    m_firstRow = static_cast<std::int64_t>(std::floor(top / m_cellSize));
    const auto lastColumn = static_cast<std::int64_t>(std::floor(right / m_cellSize)) + 1;
    const auto lastRow = static_cast<std::int64_t>(std::floor(bottom / m_cellSize)) + 1;
    m_columns = static_cast<int>(lastColumn - m_firstColumn + 1);
    const int rows = static_cast<int>(lastRow - m_firstRow + 1);
    m_lattice.resize(static_cast<std::size_t>(m_columns) * rows);
    for (int j = 0; j < rows; ++j)
        for (int i = 0; i < m_columns; ++i)
            m_lattice[static_cast<std::size_t>(j * m_columns + i)]
                = SeededRandom::fraction(SeededRandom::hash(m_seed, m_firstColumn + i, m_firstRow + j), 0);
}

float SmoothRandomField::at(double x, double y) const
{
    const double gx = x / m_cellSize;
    const double gy = y / m_cellSize;
    const double fx = std::floor(gx);
    const double fy = std::floor(gy);
    const int i = static_cast<int>(static_cast<std::int64_t>(fx) - m_firstColumn);
    const int j = static_cast<int>(static_cast<std::int64_t>(fy) - m_firstRow);
    auto smooth = [](double t) { return static_cast<float>(t * t * (3.0 - 2.0 * t)); };
    const float tx = smooth(gx - fx);
    const float ty = smooth(gy - fy);
    const float *row0 = &m_lattice[static_cast<std::size_t>(j * m_columns + i)];
    const float *row1 = row0 + m_columns;
    const float top = row0[0] + (row0[1] - row0[0]) * tx;
    const float bottom = row1[0] + (row1[1] - row1[0]) * tx;
    return top + (bottom - top) * ty;
}

} // namespace icmil::slide
