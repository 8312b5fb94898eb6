// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Builders for hand-made torch.save files in tst_torchfile: pickle opcodes, the legacy layout and
// a stored ZIP archive, so malformed and hostile inputs can be written byte by byte; random
// mutants of a file and a bit-exact comparison of what was loaded (tst_milcheckpoint too).

#include "engine/torchfile/statedict.h"
#include "engine/torchfile/storedziparchive.h"

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace torchfilecrafting {

inline std::string littleEndian(std::uint64_t value, int width)
{
    std::string bytes;
    for (int i = 0; i < width; ++i)
        bytes.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
    return bytes;
}

// Pickle opcodes by name (protocol 2 unless said otherwise).
class PickleBytes {
public:
    PickleBytes &raw(const std::string &bytes)
    {
        m_bytes += bytes;
        return *this;
    }
    PickleBytes &op(char opcode)
    {
        m_bytes.push_back(opcode);
        return *this;
    }
    PickleBytes &proto(int version = 2)
    {
        m_bytes += "\x80";
        m_bytes.push_back(static_cast<char>(version));
        return *this;
    }
    PickleBytes &global(const std::string &module, const std::string &name)
    {
        m_bytes += "c" + module + "\n" + name + "\n";
        return *this;
    }
    PickleBytes &str(const std::string &text)
    {
        m_bytes += "X" + littleEndian(text.size(), 4) + text;
        return *this;
    }
    PickleBytes &integer(std::int64_t value)
    {
        if (value >= INT32_MIN && value <= INT32_MAX)
            m_bytes += "J" + littleEndian(static_cast<std::uint64_t>(value), 4);
        else
            m_bytes += "\x8a\x08" + littleEndian(static_cast<std::uint64_t>(value), 8);
        return *this;
    }
    PickleBytes &mark() { return op('('); }
    PickleBytes &tuple() { return op('t'); }
    PickleBytes &reduce() { return op('R'); }
    PickleBytes &emptyDict() { return op('}'); }
    PickleBytes &emptyList() { return op(']'); }
    PickleBytes &setItem() { return op('s'); }
    PickleBytes &put(int index)
    {
        m_bytes += "q";
        m_bytes.push_back(static_cast<char>(index));
        return *this;
    }
    PickleBytes &get(int index)
    {
        m_bytes += "h";
        m_bytes.push_back(static_cast<char>(index));
        return *this;
    }
    PickleBytes &stop() { return op('.'); }

    PickleBytes &ints(const std::vector<std::int64_t> &values)
    {
        mark();
        for (const std::int64_t value : values)
            integer(value);
        return tuple();
    }

    // torch._utils._rebuild_tensor_v2(('storage', torch.<type>, key, location, numel), offset,
    // sizes, strides, False, OrderedDict()): what torch.save writes for one tensor.
    PickleBytes &tensor(const std::string &storageType, const std::string &key, std::int64_t numel, std::int64_t offset,
                        const std::vector<std::int64_t> &sizes, const std::vector<std::int64_t> &strides,
                        const std::string &location = "cpu")
    {
        global("torch._utils", "_rebuild_tensor_v2");
        mark();
        mark().str("storage").global("torch", storageType).str(key).str(location).integer(numel).tuple();
        op('Q');
        integer(offset).ints(sizes).ints(strides).op('\x89');
        global("collections", "OrderedDict").op(')').reduce();
        tuple();
        return reduce();
    }

    const std::string &bytes() const { return m_bytes; }

private:
    std::string m_bytes;
};

// The legacy layout: magic number, version 1001 and sys_info pickles (as Python 3 writes them),
// the object pickle, the storage key list, then each storage as an 8-byte count and its bytes.
inline std::string legacyFile(const std::string &objectPickle, const std::vector<std::pair<std::string, std::string>> &storages = {},
                              const std::vector<std::uint64_t> &counts = {})
{
    std::string file = std::string("\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.", 15);
    file += std::string("\x80\x02M\xe9\x03.", 6);
    file += PickleBytes().proto().emptyDict().str("little_endian").op('\x88').setItem().stop().bytes();
    file += objectPickle;
    PickleBytes keys;
    keys.proto().emptyList().mark();
    for (const auto &storage : storages)
        keys.str(storage.first);
    file += keys.op('e').stop().bytes();
    for (std::size_t i = 0; i < storages.size(); ++i)
        file += littleEndian(i < counts.size() ? counts[i] : storages[i].second.size(), 8) + storages[i].second;
    return file;
}

// A ZIP archive of stored entries (method 0 unless `method` says otherwise; the bytes are then
// still raw, which is enough to test that such an entry is refused).
inline std::string zipFile(const std::vector<std::pair<std::string, std::string>> &entries, std::uint16_t method = 0)
{
    std::string out;
    std::string directory;
    for (const auto &[name, data] : entries) {
        const std::uint32_t crc = icmil::engine::StoredZipArchive::crc32(data);
        const std::string sizes = littleEndian(crc, 4) + littleEndian(data.size(), 4) + littleEndian(data.size(), 4);
        const std::uint64_t offset = out.size();
        out += littleEndian(0x04034b50, 4) + littleEndian(20, 2) + littleEndian(0, 2) + littleEndian(method, 2) + littleEndian(0, 4) + sizes
            + littleEndian(name.size(), 2) + littleEndian(0, 2) + name + data;
        directory += littleEndian(0x02014b50, 4) + littleEndian(20, 2) + littleEndian(20, 2) + littleEndian(0, 2) + littleEndian(method, 2)
            + littleEndian(0, 4) + sizes + littleEndian(name.size(), 2) + littleEndian(0, 2) + littleEndian(0, 2) + littleEndian(0, 2)
            + littleEndian(0, 2) + littleEndian(0, 4) + littleEndian(offset, 4) + name;
    }
    const std::uint64_t directoryOffset = out.size();
    out += directory;
    out += littleEndian(0x06054b50, 4) + littleEndian(0, 2) + littleEndian(0, 2) + littleEndian(entries.size(), 2)
        + littleEndian(entries.size(), 2) + littleEndian(directory.size(), 4) + littleEndian(directoryOffset, 4) + littleEndian(0, 2);
    return out;
}

// A zip-format torch.save file: archive/data.pkl plus archive/data/<key> storages.
inline std::string zipTorchFile(const std::string &pickle, const std::vector<std::pair<std::string, std::string>> &storages = {})
{
    std::vector<std::pair<std::string, std::string>> entries{{"archive/data.pkl", pickle}};
    for (const auto &[key, bytes] : storages)
        entries.emplace_back("archive/data/" + key, bytes);
    entries.emplace_back("archive/version", "3\n");
    return zipFile(entries);
}

// A damaged copy of a file, as a disk or a download damages one: 1 to 8 random bytes changed
// (each really changed) and, one time in five, the end cut off. std::mt19937_64 and plain modulo
// give the same mutants on every platform.
struct Mutant {
    std::string bytes;
    std::vector<std::size_t> changed; // positions
    bool truncated = false;

    std::string describe() const
    {
        std::string text = "changed at";
        for (const std::size_t position : changed)
            text += " " + std::to_string(position);
        return text + (truncated ? ", cut to " + std::to_string(bytes.size()) + " bytes" : "");
    }
};

inline Mutant mutate(const std::string &original, std::mt19937_64 &random)
{
    Mutant mutant{original, {}, false};
    const std::size_t changes = 1 + random() % 8;
    for (std::size_t i = 0; i < changes; ++i) {
        const std::size_t position = random() % original.size();
        mutant.bytes[position] = static_cast<char>(static_cast<unsigned char>(mutant.bytes[position]) ^ (1 + random() % 255));
        mutant.changed.push_back(position);
    }
    if (random() % 5 == 0) {
        mutant.bytes.resize(random() % original.size());
        mutant.truncated = true;
    }
    return mutant;
}

// CRC-32 bit by bit, straight from its definition (ZIP's reflected polynomial 0xedb88320).
inline std::uint32_t bitwiseCrc32(const std::string &bytes)
{
    std::uint32_t crc = 0xffffffffu;
    for (const char byte : bytes) {
        crc ^= static_cast<std::uint8_t>(byte);
        for (int bit = 0; bit < 8; ++bit)
            crc = (crc & 1) ? 0xedb88320u ^ (crc >> 1) : crc >> 1;
    }
    return ~crc;
}

// "" when both hold the same keys in the same order and bit-identical tensors (same dtype, shape
// and bytes: NaN payloads and -0.0 included, which torch::equal would not tell apart); else what differs.
inline std::string bitDifference(const icmil::engine::StateDict &actual, const icmil::engine::StateDict &expected)
{
    if (actual.size() != expected.size())
        return "size " + std::to_string(actual.size()) + " != " + std::to_string(expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto &[key, tensor] = actual.entries()[i];
        const auto &[expectedKey, expectedTensor] = expected.entries()[i];
        if (key != expectedKey)
            return "key " + std::to_string(i) + " is '" + key + "', expected '" + expectedKey + "'";
        if (tensor.scalar_type() != expectedTensor.scalar_type() || tensor.sizes() != expectedTensor.sizes())
            return key + ": dtype or shape differs";
        const torch::Tensor a = tensor.contiguous();
        const torch::Tensor b = expectedTensor.contiguous();
        if (std::memcmp(a.data_ptr(), b.data_ptr(), static_cast<std::size_t>(a.numel()) * a.element_size()) != 0)
            return key + ": values differ";
    }
    return {};
}

inline void writeFile(const std::filesystem::path &path, const std::string &bytes)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string readFile(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace torchfilecrafting
