// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// tst_torchfile's helpers: where fixtures and scratch files live, the contract with
// tests/fixtures/torchfiles/make_fixtures.py (pattern(): the values every fixture tensor holds),
// and comparisons that say what differs.

#include "torchfilecrafting.h"

#include "engine/engineerror.h"
#include "engine/torchfile/statedict.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <unistd.h>

namespace torchfilefixtures {

inline std::filesystem::path fixture(const std::string &name)
{
    return std::filesystem::path(ICMIL_TORCHFILE_FIXTURES) / name;
}

struct ScratchFolder {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("tst_torchfile-" + std::to_string(::getpid()));
    ScratchFolder() { std::filesystem::create_directories(path); }
    ~ScratchFolder()
    {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

inline std::filesystem::path scratch(const std::string &name)
{
    static ScratchFolder folder;
    return folder.path / name;
}

inline std::filesystem::path written(const std::string &name, const std::string &bytes)
{
    const std::filesystem::path path = scratch(name);
    torchfilecrafting::writeFile(path, bytes);
    return path;
}

inline std::string prefixFor(const std::filesystem::path &path)
{
    return "Cannot read PyTorch file '" + path.string() + "': ";
}

// The message of the EngineError `read` throws; "" when it returns; "UNEXPECTED ..." for any
// other exception (which the reader must never let out).
template <typename Read> inline std::string errorOf(Read read)
{
    try {
        read();
    } catch (const icmil::engine::EngineError &error) {
        return error.what();
    } catch (const std::exception &error) {
        return std::string("UNEXPECTED ") + error.what();
    }
    return {};
}

inline std::vector<std::filesystem::path> allFixtures()
{
    std::vector<std::filesystem::path> files;
    for (const auto &entry : std::filesystem::directory_iterator(ICMIL_TORCHFILE_FIXTURES)) {
        if (entry.path().extension() != ".py")
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

// make_fixtures.py's pattern(): the values every fixture tensor holds.
inline torch::Tensor pattern(std::vector<std::int64_t> shape, c10::ScalarType dtype, std::int64_t seed)
{
    std::int64_t n = 1;
    for (const std::int64_t size : shape)
        n *= size;
    torch::Tensor values;
    if (dtype == torch::kBool)
        values = (torch::arange(n, torch::kLong) + seed).remainder(3) == 0;
    else if (c10::isFloatingType(dtype))
        values = (torch::arange(n, torch::kDouble) * 0.5 - static_cast<double>(seed)).to(dtype);
    else
        values = (torch::arange(n, torch::kLong) * 3 - seed).to(dtype);
    return values.reshape(shape);
}

// "" when `actual` has the dtype, shape and values of `expected`; else what differs.
inline std::string difference(const torch::Tensor &actual, const torch::Tensor &expected)
{
    if (!actual.defined())
        return "undefined tensor";
    if (actual.scalar_type() != expected.scalar_type())
        return std::string("dtype ") + c10::toString(actual.scalar_type()) + " != " + c10::toString(expected.scalar_type());
    if (actual.sizes() != expected.sizes())
        return "shape " + c10::str(actual.sizes()) + " != " + c10::str(expected.sizes());
    if (!actual.device().is_cpu())
        return "not on the CPU";
    if (!torch::equal(actual, expected))
        return "values differ";
    return {};
}

struct Expected {
    std::string key;
    std::vector<std::int64_t> shape;
    c10::ScalarType dtype = torch::kFloat;
};

// "" when `dict` holds exactly `expected`, in order, each with pattern(seed = its position).
inline std::string stateDictDifference(const icmil::engine::StateDict &dict, const std::vector<Expected> &expected)
{
    if (dict.size() != expected.size())
        return "size " + std::to_string(dict.size()) + " != " + std::to_string(expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto &[key, tensor] = dict.entries()[i];
        if (key != expected[i].key)
            return "key " + std::to_string(i) + " is '" + key + "', expected '" + expected[i].key + "'";
        const auto seed = static_cast<std::int64_t>(i);
        const std::string what = difference(tensor, pattern(expected[i].shape, expected[i].dtype, seed));
        if (!what.empty())
            return key + ": " + what;
    }
    return {};
}

} // namespace torchfilefixtures
