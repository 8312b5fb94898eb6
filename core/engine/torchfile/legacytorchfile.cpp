// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/legacytorchfile.h"

#include "engine/engineerror.h"
#include "engine/torchfile/picklegraph.h"
#include "engine/torchfile/pickleunpickler.h"
#include "engine/torchfile/torchobjectfactory.h"

#include <algorithm>

namespace icmil::engine {

namespace {

// The LONG1 opcode of torch's MAGIC_NUMBER 0x1950a86a20f9469cfc6c (a 10-byte int).
constexpr std::string_view kMagicLong("\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 12);
constexpr std::int64_t kProtocolVersion = 1001;
constexpr std::uint64_t kFirstWindow = std::uint64_t{1} << 20;

} // namespace

LegacyTorchFile::LegacyTorchFile(const RandomAccessFile &file) : m_file(file)
{ }

PickleValue LegacyTorchFile::read()
{
    // The pickles come first and their length is only known by parsing them: parse a window of
    // the file, and a larger one (up to the whole file) when they run past it.
    std::uint64_t window = std::min(m_file.size(), kFirstWindow);
    while (true) {
        const std::string head = m_file.read(0, window, "the pickled header");
        try {
            return readPickles(head);
        } catch (const PickleUnpickler::Truncated &) {
            if (window == m_file.size())
                throw;
        }
        window = std::min(m_file.size(), window * 8);
    }
}

PickleValue LegacyTorchFile::readPickles(std::string_view data)
{
    m_storages.clear();
    m_storageBytes = 0;
    PickleGraph graph;
    TorchObjectFactory plainFactory(nullptr);
    TorchObjectFactory objectFactory(this);
    PickleUnpickler plain(graph, plainFactory);
    PickleUnpickler objects(graph, objectFactory);
    std::size_t position = 0;
    std::size_t end = 0;

    plain.load(data, position, end);
    if (data.substr(position, end - position).find(kMagicLong) == std::string_view::npos)
        throw EngineError("it is a pickle, but not one written by torch.save (no PyTorch magic number)");
    position = end;

    const PickleRef version = plain.load(data, position, end);
    position = end;
    if (version.kind != PickleRef::Kind::Int || version.payload != kProtocolVersion)
        throw EngineError("its legacy format version is not " + std::to_string(kProtocolVersion));

    const PickleValue sysInfo = graph.freeze(plain.load(data, position, end));
    position = end;
    if (const PickleValue *littleEndian = sysInfo.find("little_endian");
        littleEndian && littleEndian->kind() == PickleValue::Kind::Bool && !littleEndian->toBool())
        throw EngineError("it was written on a big-endian machine, which is not supported");

    const PickleRef root = objects.load(data, position, end);
    position = end;

    const PickleValue keyList = graph.freeze(plain.load(data, position, end));
    position = end;
    if (!keyList.isSequence())
        throw EngineError("its list of storage keys is " + keyList.typeName() + ", not a list");
    std::vector<std::string> keys;
    for (const PickleValue &key : keyList.items()) {
        if (key.kind() != PickleValue::Kind::String && key.kind() != PickleValue::Kind::Bytes)
            throw EngineError("its list of storage keys holds a " + key.typeName());
        keys.push_back(key.toStringRef());
    }
    readStorageData(keys, position);
    return graph.freeze(root);
}

void LegacyTorchFile::readStorageData(const std::vector<std::string> &keys, std::uint64_t offset)
{
    for (const std::string &key : keys) {
        const auto found = m_storages.find(key);
        if (found == m_storages.end())
            throw EngineError("storage '" + key + "' is listed but no tensor uses it (damaged file?)");
        PendingStorage &storage = found->second;
        if (storage.filled)
            throw EngineError("storage '" + key + "' is listed twice (damaged file?)");
        const std::string countBytes = m_file.read(offset, 8, "a storage's element count");
        std::uint64_t count = 0;
        for (std::size_t i = 8; i-- > 0;)
            count = (count << 8) | static_cast<std::uint8_t>(countBytes[i]);
        if (count != static_cast<std::uint64_t>(storage.numel))
            throw EngineError("storage '" + key + "' should hold " + std::to_string(storage.numel) + " elements, but the file says "
                              + std::to_string(count) + " (damaged file?)");
        const auto bytes = static_cast<std::uint64_t>(storage.tensor.numel()) * storage.tensor.element_size();
        m_file.read(offset + 8, storage.tensor.data_ptr(), bytes, "a storage's data");
        offset += 8 + bytes;
        storage.filled = true;
    }
    for (const auto &[key, storage] : m_storages) {
        if (!storage.filled)
            throw EngineError("storage '" + key + "' has no data in the file (truncated?)");
    }
}

torch::Tensor LegacyTorchFile::loadStorage(const std::string &key, c10::ScalarType dtype, std::int64_t numel, const std::string &location)
{
    (void)location; // "cpu", "cuda:0", ...: the bytes are in the file either way
    const auto bytes = static_cast<std::uint64_t>(numel) * c10::elementSize(dtype); // checked by the factory
    if (bytes > m_file.size() - std::min(m_file.size(), m_storageBytes))
        throw EngineError("storage '" + key + "' declares " + std::to_string(bytes) + " bytes, more than the file holds (damaged file?)");
    m_storageBytes += bytes;
    torch::Tensor tensor = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
    m_storages[key] = PendingStorage{tensor, numel, false};
    return tensor;
}

} // namespace icmil::engine
