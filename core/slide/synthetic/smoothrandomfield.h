// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <vector>

namespace icmil::slide {

// Non-repeating value noise (0..1) over the whole plane: random values hashed from (seed, lattice
// point), smoothly interpolated. For slow variations (stain, fibre waviness) that must not tile
// on a 100k-pixel slide. prepare() caches the few lattice values around one tile.
class SmoothRandomField {
public:
    SmoothRandomField(std::uint64_t seed, double cellSize) : m_seed(seed), m_cellSize(cellSize) { }

    // Caches the lattice values needed for points in [left, right] x [top, bottom].
    void prepare(double left, double top, double right, double bottom);
    // The value at a point inside the prepared rectangle.
    float at(double x, double y) const;

private:
    std::uint64_t m_seed;
    double m_cellSize;
    std::int64_t m_firstColumn = 0;
    std::int64_t m_firstRow = 0;
    int m_columns = 0;
    std::vector<float> m_lattice;
};

} // namespace icmil::slide
