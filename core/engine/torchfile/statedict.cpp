// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/statedict.h"

#include <algorithm>

namespace icmil::engine {

void StateDict::insert(std::string key, torch::Tensor tensor)
{
    const auto it = std::find_if(m_entries.begin(), m_entries.end(), [&](const Entry &entry) { return entry.first == key; });
    if (it != m_entries.end())
        it->second = std::move(tensor);
    else
        m_entries.emplace_back(std::move(key), std::move(tensor));
}

const torch::Tensor *StateDict::find(std::string_view key) const
{
    const auto it = std::find_if(m_entries.begin(), m_entries.end(), [&](const Entry &entry) { return entry.first == key; });
    return it == m_entries.end() ? nullptr : &it->second;
}

std::vector<std::string> StateDict::keys() const
{
    std::vector<std::string> result;
    result.reserve(m_entries.size());
    for (const auto &entry : m_entries)
        result.push_back(entry.first);
    return result;
}

StateDict StateDict::withPrefix(std::string_view prefix) const
{
    StateDict result;
    for (const auto &[key, tensor] : m_entries) {
        if (key.size() > prefix.size() && std::string_view(key).substr(0, prefix.size()) == prefix)
            result.m_entries.emplace_back(key.substr(prefix.size()), tensor);
    }
    return result;
}

} // namespace icmil::engine
