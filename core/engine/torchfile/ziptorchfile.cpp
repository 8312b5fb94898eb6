// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/ziptorchfile.h"

#include "engine/engineerror.h"
#include "engine/torchfile/picklegraph.h"
#include "engine/torchfile/pickleunpickler.h"
#include "engine/torchfile/torchobjectfactory.h"

#include <algorithm>

namespace icmil::engine {

namespace {

// Reverses the bytes of each `width`-byte word (a big-endian file on this little-endian CPU).
void swapBytes(std::uint8_t *bytes, std::int64_t count, std::size_t width)
{
    if (width <= 1)
        return;
    for (std::int64_t i = 0; i < count; ++i)
        std::reverse(bytes + static_cast<std::size_t>(i) * width, bytes + static_cast<std::size_t>(i + 1) * width);
}

} // namespace

ZipTorchFile::ZipTorchFile(const RandomAccessFile &file) : m_archive(file)
{
    m_prefix = findArchivePrefix();
}

std::string ZipTorchFile::findArchivePrefix() const
{
    // torch.save puts every record in one folder (named after the file, or "archive").
    for (const auto &entry : m_archive.entries()) {
        const std::size_t slash = entry.name.find('/');
        if (slash != std::string::npos && slash > 0 && entry.name.substr(slash + 1) == "data.pkl")
            return entry.name.substr(0, slash + 1);
    }
    for (const auto &entry : m_archive.entries()) {
        if (entry.name.ends_with("constants.pkl") || entry.name.find("/code/") != std::string::npos)
            throw EngineError("it is a TorchScript archive (torch.jit.save); load it as a TorchScript model");
    }
    throw EngineError("the ZIP archive has no data.pkl, so it was not written by torch.save");
}

PickleValue ZipTorchFile::read()
{
    if (m_archive.find(m_prefix + "constants.pkl") != nullptr)
        throw EngineError("it is a TorchScript archive (torch.jit.save); load it as a TorchScript model");
    if (const auto *byteorder = m_archive.find(m_prefix + "byteorder")) {
        const std::string order = m_archive.readSmall(*byteorder, 16);
        if (order != "little" && order != "big")
            throw EngineError("its byteorder record says '" + order + "', not 'little' or 'big'");
        m_bigEndian = order == "big";
    }
    const auto *dataEntry = m_archive.find(m_prefix + "data.pkl");
    const std::string pickle = m_archive.readSmall(*dataEntry, kMaxPickleBytes);

    PickleGraph graph;
    TorchObjectFactory factory(this);
    PickleUnpickler unpickler(graph, factory);
    std::size_t end = 0;
    const PickleRef root = unpickler.load(pickle, 0, end);
    return graph.freeze(root);
}

torch::Tensor ZipTorchFile::loadStorage(const std::string &key, c10::ScalarType dtype, std::int64_t numel, const std::string &location)
{
    (void)location; // "cpu", "cuda:0", ...: the bytes are in the file either way
    const std::string name = m_prefix + "data/" + key;
    const auto *entry = m_archive.find(name);
    if (entry == nullptr)
        throw EngineError("the archive has no entry '" + name + "' for storage '" + key + "' (damaged file?)");
    const std::size_t width = c10::elementSize(dtype);
    const auto bytes = static_cast<std::uint64_t>(numel) * width; // the factory checked the product
    if (entry->size < bytes)
        throw EngineError("storage '" + key + "' should hold " + std::to_string(bytes) + " bytes, but its entry has "
                          + std::to_string(entry->size));
    // The entry's declared size is checked against the file before allocating (a damaged
    // directory must not make a small file allocate gigabytes).
    (void)m_archive.dataOffset(*entry);
    torch::Tensor storage = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
    m_archive.readInto(*entry, storage.data_ptr(), bytes);
    if (m_bigEndian) {
        const bool complex = c10::isComplexType(dtype);
        swapBytes(static_cast<std::uint8_t *>(storage.data_ptr()), complex ? numel * 2 : numel, complex ? width / 2 : width);
    }
    return storage;
}

} // namespace icmil::engine
