// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <torch/types.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace icmil::engine {

// Named tensors in insertion order: the C++ face of a PyTorch state dict. Keys are dotted paths
// ("layer1.0.conv1.weight"); nested dicts read from a file are flattened into such keys.
class StateDict {
public:
    using Entry = std::pair<std::string, torch::Tensor>;

    // Adds `key`, or replaces its tensor (keeping its position) when already present.
    void insert(std::string key, torch::Tensor tensor);
    const torch::Tensor *find(std::string_view key) const; // nullptr when absent
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    bool empty() const { return m_entries.empty(); }
    std::size_t size() const { return m_entries.size(); }
    const std::vector<Entry> &entries() const { return m_entries; }
    std::vector<std::string> keys() const;

    // The entries whose key starts with `prefix`, with the prefix removed ("module." from
    // DataParallel, "dim_reduction." from an ICMIL classifier file). Order is kept.
    StateDict withPrefix(std::string_view prefix) const;

private:
    std::vector<Entry> m_entries;
};

} // namespace icmil::engine
