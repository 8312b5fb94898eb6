// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Shared by the embedder tests: a scratch folder under the build tree and small tensor helpers.

#include <torch/types.h>

#include <filesystem>
#include <string>

namespace embeddertest {

// An empty folder for this test executable (ICMIL_EMBEDDER_TEST_SCRATCH, set by CMake), made fresh
// by the first call.
inline const std::filesystem::path &scratchFolder()
{
    static const std::filesystem::path folder = [] {
        const std::filesystem::path path(ICMIL_EMBEDDER_TEST_SCRATCH);
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
        return path;
    }();
    return folder;
}

inline std::filesystem::path scratchFile(const std::string &name)
{
    return scratchFolder() / name;
}

// A reproducible batch of patches in [0, 1].
inline torch::Tensor patches(std::int64_t count, std::int64_t size, std::uint64_t seed = 7)
{
    torch::manual_seed(seed);
    return torch::rand({count, 3, size, size});
}

inline bool same(const torch::Tensor &a, const torch::Tensor &b)
{
    return a.sizes() == b.sizes() && torch::equal(a, b);
}

} // namespace embeddertest
