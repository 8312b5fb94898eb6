// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QHashFunctions>
#include <QMetaType>

#include <cstddef>
#include <functional>

namespace icmil::ui {

// One viewer tile: `level` of the slide pyramid, column and row in that level's TileGrid.
struct TileKey {
    int level = 0;
    int col = 0;
    int row = 0;

    friend bool operator==(const TileKey &, const TileKey &) = default;
};

inline size_t qHash(const TileKey &key, size_t seed = 0) noexcept
{
    return qHashMulti(seed, key.level, key.col, key.row);
}

} // namespace icmil::ui

template <> struct std::hash<icmil::ui::TileKey> {
    std::size_t operator()(const icmil::ui::TileKey &k) const noexcept { return icmil::ui::qHash(k, 0); }
};

Q_DECLARE_METATYPE(icmil::ui::TileKey)
