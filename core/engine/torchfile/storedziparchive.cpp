// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/storedziparchive.h"

#include "engine/engineerror.h"

#include <algorithm>
#include <array>

namespace icmil::engine {

namespace {

constexpr std::uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr std::uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr std::uint32_t kEndSignature = 0x06054b50;
constexpr std::uint32_t kZip64EndSignature = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr std::uint64_t kEndSize = 22;
constexpr std::uint64_t kZip64LocatorSize = 20;
constexpr std::uint64_t kZip64EndSize = 56;
constexpr std::uint64_t kCentralHeaderSize = 46;
constexpr std::uint64_t kLocalHeaderSize = 30;
constexpr std::uint64_t kMaxComment = 0xffff;

// Little-endian fields of a byte buffer whose bounds the caller has checked.
std::uint64_t field(std::string_view bytes, std::size_t offset, std::size_t width)
{
    std::uint64_t value = 0;
    for (std::size_t i = width; i-- > 0;)
        value = (value << 8) | static_cast<std::uint8_t>(bytes[offset + i]);
    return value;
}

std::uint16_t u16(std::string_view bytes, std::size_t offset)
{
    return static_cast<std::uint16_t>(field(bytes, offset, 2));
}

std::uint32_t u32(std::string_view bytes, std::size_t offset)
{
    return static_cast<std::uint32_t>(field(bytes, offset, 4));
}

std::uint64_t u64(std::string_view bytes, std::size_t offset)
{
    return field(bytes, offset, 8);
}

constexpr std::array<std::uint32_t, 256> makeCrcTable()
{
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t value = i;
        for (int bit = 0; bit < 8; ++bit)
            value = (value & 1) ? 0xedb88320u ^ (value >> 1) : value >> 1;
        table[i] = value;
    }
    return table;
}

constexpr std::array<std::uint32_t, 256> kCrcTable = makeCrcTable();

[[noreturn]] void corrupted(const std::string &what)
{
    throw EngineError("the ZIP archive is corrupted: " + what);
}

} // namespace

std::uint32_t StoredZipArchive::crc32(std::string_view bytes)
{
    std::uint32_t crc = 0xffffffffu;
    for (const char byte : bytes)
        crc = kCrcTable[(crc ^ static_cast<std::uint8_t>(byte)) & 0xff] ^ (crc >> 8);
    return crc ^ 0xffffffffu;
}

StoredZipArchive::StoredZipArchive(const RandomAccessFile &file) : m_file(file)
{
    readDirectory(locateDirectory());
}

StoredZipArchive::Directory StoredZipArchive::locateDirectory() const
{
    const std::uint64_t fileSize = m_file.size();
    if (fileSize < kEndSize)
        throw EngineError("the ZIP archive is truncated (it has no end-of-central-directory record)");
    const std::uint64_t tailSize = std::min(fileSize, kEndSize + kMaxComment);
    const std::uint64_t tailStart = fileSize - tailSize;
    const std::string tail = m_file.read(tailStart, tailSize, "the ZIP directory");

    std::size_t end = std::string::npos;
    for (std::size_t position = static_cast<std::size_t>(tailSize - kEndSize) + 1; position-- > 0;) {
        if (u32(tail, position) == kEndSignature && position + kEndSize + u16(tail, position + 20) <= tailSize) {
            end = position;
            break;
        }
    }
    if (end == std::string::npos)
        throw EngineError("the ZIP archive is truncated (it has no end-of-central-directory record)");

    Directory directory{u16(tail, end + 10), u32(tail, end + 16), u32(tail, end + 12)};
    if (u16(tail, end + 4) != 0 || u16(tail, end + 6) != 0)
        throw EngineError("the ZIP archive spans several disks, which is not supported");

    // ZIP64: a locator just before the end record points at the ZIP64 end record.
    const std::uint64_t endOffset = tailStart + end;
    const bool saturated = directory.entryCount == 0xffff || directory.offset == 0xffffffffu || directory.size == 0xffffffffu;
    bool zip64 = false;
    if (endOffset >= kZip64LocatorSize) {
        const std::string locator = m_file.read(endOffset - kZip64LocatorSize, kZip64LocatorSize, "the ZIP64 locator");
        if (u32(locator, 0) == kZip64LocatorSignature) {
            const std::uint64_t recordOffset = u64(locator, 8);
            if (!m_file.contains(recordOffset, kZip64EndSize))
                corrupted("its ZIP64 end record lies outside the file");
            const std::string record = m_file.read(recordOffset, kZip64EndSize, "the ZIP64 end record");
            if (u32(record, 0) != kZip64EndSignature)
                corrupted("its ZIP64 end record has a wrong signature");
            directory = {u64(record, 32), u64(record, 48), u64(record, 40)};
            zip64 = true;
        }
    }
    if (saturated && !zip64)
        corrupted("its directory needs ZIP64 records, which are missing");
    if (!m_file.contains(directory.offset, directory.size))
        corrupted("its central directory lies outside the file");
    if (directory.entryCount > directory.size / kCentralHeaderSize)
        corrupted("its directory declares more entries than it can hold");
    return directory;
}

void StoredZipArchive::readDirectory(const Directory &directory)
{
    const std::string bytes = m_file.read(directory.offset, directory.size, "the ZIP central directory");
    const std::string_view view(bytes);
    std::size_t position = 0;
    for (std::uint64_t i = 0; i < directory.entryCount; ++i) {
        if (view.size() - position < kCentralHeaderSize || u32(view, position) != kCentralHeaderSignature)
            corrupted("central directory entry " + std::to_string(i) + " is damaged");
        Entry entry;
        entry.flags = u16(view, position + 8);
        entry.method = u16(view, position + 10);
        entry.crc32 = u32(view, position + 16);
        entry.compressedSize = u32(view, position + 20);
        entry.size = u32(view, position + 24);
        const std::size_t nameLength = u16(view, position + 28);
        const std::size_t extraLength = u16(view, position + 30);
        const std::size_t commentLength = u16(view, position + 32);
        entry.localHeaderOffset = u32(view, position + 42);
        const std::size_t variable = nameLength + extraLength + commentLength;
        if (view.size() - position - kCentralHeaderSize < variable)
            corrupted("central directory entry " + std::to_string(i) + " is truncated");
        entry.name = std::string(view.substr(position + kCentralHeaderSize, nameLength));

        // ZIP64 extra field: 8-byte values for the 32-bit fields that are saturated, in order.
        std::string_view extra = view.substr(position + kCentralHeaderSize + nameLength, extraLength);
        while (extra.size() >= 4) {
            const std::uint16_t id = u16(extra, 0);
            const std::size_t length = u16(extra, 2);
            if (extra.size() - 4 < length)
                corrupted("entry '" + entry.name + "' has a damaged extra field");
            if (id == 0x0001) {
                std::string_view values = extra.substr(4, length);
                for (std::uint64_t *target : {&entry.size, &entry.compressedSize, &entry.localHeaderOffset}) {
                    if (*target != 0xffffffffu)
                        continue;
                    if (values.size() < 8)
                        corrupted("entry '" + entry.name + "' has a short ZIP64 field");
                    *target = u64(values, 0);
                    values.remove_prefix(8);
                }
            }
            extra.remove_prefix(4 + length);
        }
        position += kCentralHeaderSize + variable;
        m_index.emplace(entry.name, m_entries.size());
        m_entries.push_back(std::move(entry));
    }
}

const StoredZipArchive::Entry *StoredZipArchive::find(std::string_view name) const
{
    const auto found = m_index.find(std::string(name));
    return found == m_index.end() ? nullptr : &m_entries[found->second];
}

std::uint64_t StoredZipArchive::dataOffset(const Entry &entry) const
{
    if ((entry.flags & 1) != 0)
        throw EngineError("ZIP entry '" + entry.name + "' is encrypted");
    if (entry.method != 0)
        throw EngineError("ZIP entry '" + entry.name + "' is compressed (method " + std::to_string(entry.method)
                          + "), but torch.save stores its entries uncompressed (was the file re-zipped?)");
    if (entry.compressedSize != entry.size)
        corrupted("stored entry '" + entry.name + "' has two different sizes");
    if (!m_file.contains(entry.localHeaderOffset, kLocalHeaderSize))
        corrupted("entry '" + entry.name + "' starts outside the file");
    const std::string header = m_file.read(entry.localHeaderOffset, kLocalHeaderSize, "a ZIP local header");
    if (u32(header, 0) != kLocalHeaderSignature)
        corrupted("entry '" + entry.name + "' has a damaged local header");
    const std::uint64_t start = entry.localHeaderOffset + kLocalHeaderSize + u16(header, 26) + u16(header, 28);
    if (!m_file.contains(start, entry.size))
        throw EngineError("ZIP entry '" + entry.name + "' extends beyond the end of the file (truncated?)");
    return start;
}

std::string StoredZipArchive::readSmall(const Entry &entry, std::uint64_t maxSize) const
{
    const std::uint64_t start = dataOffset(entry);
    if (entry.size > maxSize)
        throw EngineError("ZIP entry '" + entry.name + "' is " + std::to_string(entry.size) + " bytes, more than the "
                          + std::to_string(maxSize) + " expected");
    std::string bytes = m_file.read(start, entry.size, "a ZIP entry");
    if (crc32(bytes) != entry.crc32)
        corrupted("entry '" + entry.name + "' fails its CRC check");
    return bytes;
}

void StoredZipArchive::readInto(const Entry &entry, void *destination, std::uint64_t count) const
{
    const std::uint64_t start = dataOffset(entry);
    if (count > entry.size)
        throw EngineError("ZIP entry '" + entry.name + "' is shorter than expected");
    m_file.read(start, destination, count, "a ZIP entry");
}

} // namespace icmil::engine
