// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/torchfile.h"

#include "engine/engineerror.h"
#include "engine/torchfile/legacytorchfile.h"
#include "engine/torchfile/randomaccessfile.h"
#include "engine/torchfile/ziptorchfile.h"

#include <c10/util/Exception.h>

#include <new>
#include <unordered_map>

namespace icmil::engine {

namespace {

namespace fs = std::filesystem;

// Values readStateDict may visit: a pickle can share one dict many times over (a DAG), so the walk
// is bounded, not just the file.
constexpr std::size_t kMaxVisits = std::size_t{1} << 22;
// Tensors in one state dict (a ViT-g has ~600, a checkpoint with Adam state a few thousand).
// StateDict::insert() is linear, so this also bounds the time spent building the result.
constexpr std::size_t kMaxTensors = std::size_t{1} << 16;

PickleValue readAnyFormat(const fs::path &path)
{
    std::error_code error;
    const fs::file_status status = fs::status(path, error);
    if (status.type() == fs::file_type::not_found)
        throw EngineError("the file does not exist");
    if (error)
        throw EngineError("the file cannot be examined (" + error.message() + ")");
    if (status.type() == fs::file_type::directory)
        throw EngineError("it is a directory, not a file");
    if (status.type() != fs::file_type::regular)
        throw EngineError("it is not a regular file");

    const RandomAccessFile file(path);
    if (file.size() == 0)
        throw EngineError("the file is empty");
    const std::string head = file.read(0, std::min<std::uint64_t>(file.size(), 4), "the file's first bytes");
    if (head.starts_with("PK\x03\x04") || head.starts_with("PK\x05\x06"))
        return ZipTorchFile(file).read();
    if (static_cast<std::uint8_t>(head[0]) == 0x80)
        return LegacyTorchFile(file).read();
    if (file.size() >= 262 && file.read(257, 5, "a tar header") == "ustar")
        throw EngineError("it is a tar archive: PyTorch's format from before version 0.4 is not supported");
    throw EngineError("it is neither a ZIP archive nor a pickle, so it was not written by torch.save");
}

[[noreturn]] void rethrowForPath(const fs::path &path)
{
    const std::string prefix = "Cannot read PyTorch file '" + path.string() + "': ";
    try {
        throw;
    } catch (const EngineError &error) {
        throw EngineError(prefix + error.what());
    } catch (const c10::Error &error) {
        const std::string what = error.what_without_backtrace();
        throw EngineError(prefix + what.substr(0, what.find('\n')));
    } catch (const std::bad_alloc &) {
        throw EngineError(prefix + "there is not enough memory to load it");
    } catch (const std::exception &error) {
        throw EngineError(prefix + error.what());
    }
}

class StateDictFlattener {
public:
    StateDict take(const PickleValue &root, const std::string &prefix = {})
    {
        if (!root.isDict())
            throw EngineError("it holds a " + root.typeName() + ", not a dict of tensors");
        walk(root, prefix);
        StateDict result;
        for (auto &[key, tensor] : m_entries)
            result.insert(std::move(key), std::move(tensor));
        return result;
    }

private:
    void walk(const PickleValue &dict, const std::string &prefix)
    {
        for (const auto &[key, value] : dict.entries()) {
            if (++m_visits > kMaxVisits)
                throw EngineError("it holds more than " + std::to_string(kMaxVisits) + " values to walk");
            std::string name;
            if (key.isString())
                name = key.toStringRef();
            else if (key.kind() == PickleValue::Kind::Int)
                name = std::to_string(key.toInt());
            else
                continue;
            if (name == "_metadata")
                continue;
            std::string path = prefix.empty() ? name : prefix + "." + name;
            if (value.isTensor())
                add(std::move(path), value.toTensor());
            else if (value.isDict())
                walk(value, path);
        }
    }

    void add(std::string key, const torch::Tensor &tensor)
    {
        // A key set twice keeps its first position and its last value, as in a Python dict.
        const auto found = m_positions.find(key);
        if (found != m_positions.end()) {
            m_entries[found->second].second = tensor;
            return;
        }
        if (m_entries.size() >= kMaxTensors)
            throw EngineError("it holds more than " + std::to_string(kMaxTensors) + " tensors");
        m_positions.emplace(key, m_entries.size());
        m_entries.emplace_back(std::move(key), tensor);
    }

    std::size_t m_visits = 0;
    std::unordered_map<std::string, std::size_t> m_positions;
    std::vector<StateDict::Entry> m_entries;
};

} // namespace

PickleValue readTorchFile(const std::filesystem::path &path)
{
    try {
        return readAnyFormat(path);
    } catch (...) {
        rethrowForPath(path);
    }
}

StateDict flattenTensors(const PickleValue &dict, const std::string &prefix)
{
    return StateDictFlattener().take(dict, prefix);
}

StateDict readStateDict(const std::filesystem::path &path)
{
    const PickleValue root = readTorchFile(path);
    try {
        StateDict result = StateDictFlattener().take(root);
        if (result.empty())
            throw EngineError("the file holds no tensors");
        return result;
    } catch (...) {
        rethrowForPath(path);
    }
}

} // namespace icmil::engine
