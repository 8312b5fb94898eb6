// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What every HDF5 writer of the project shares: building the file in memory and writing it through the
// code base's one atomic write (common/partialfile.h), and the N x 2 coordinate layout.

#include "project/features/hdf5file.h"
#include "common/partialfile.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace icmil::project {

// Builds the HDF5 file in memory with `fill`, then writes it: the bytes go to "<path>.partial",
// fsync, rename over `path`. Any exception leaves `path` untouched and no partial file. Throws
// Hdf5Error / std::runtime_error carrying the cause only (see Hdf5File::createInMemory for why
// HDF5 itself never writes to disk).
template <typename Fill> void writeHdf5Atomically(const std::filesystem::path &path, std::uint64_t dataBytes, Fill &&fill)
{
    std::string image;
    {
        // One allocation for the image: the data, 1% for chunk indexes, room for the attributes.
        Hdf5File file = Hdf5File::createInMemory(path.string(), dataBytes + dataBytes / 100 + (256u << 10));
        fill(file);
        image = file.takeImage();
    }
    PartialFile partial(path);
    partial.write(image);
    partial.commit();
}

// {x, y} pairs <-> the row-major N x 2 values of a `coords` dataset.
inline std::vector<std::int64_t> flattenCoords(const std::vector<std::array<std::int64_t, 2>> &coords)
{
    std::vector<std::int64_t> flat;
    flat.reserve(coords.size() * 2);
    for (const auto &[x, y] : coords) {
        flat.push_back(x);
        flat.push_back(y);
    }
    return flat;
}

inline std::vector<std::array<std::int64_t, 2>> coordPairs(const std::vector<std::int64_t> &flat)
{
    std::vector<std::array<std::int64_t, 2>> coords(flat.size() / 2);
    for (std::size_t i = 0; i < coords.size(); ++i)
        coords[i] = {flat[2 * i], flat[2 * i + 1]};
    return coords;
}

} // namespace icmil::project
