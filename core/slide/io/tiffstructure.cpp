// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/io/tiffstructure.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace icmil::slide {

namespace fs = std::filesystem;

namespace {

constexpr std::uint16_t kStripOffsets = 273, kStripByteCounts = 279, kTileOffsets = 324, kTileByteCounts = 325;
// Hamamatsu NDPI marks its first directory with this private tag (OpenSlide's NDPI_FORMAT_FLAG).
// NDPI stores offsets past 4 GiB wrapped to 32 bits, which only OpenSlide knows how to unwrap, so
// the structure of such a file is left to OpenSlide.
constexpr std::uint16_t kNdpiFormatFlag = 65420;
constexpr int kMaxDirectories = 1 << 16; // a hostile file may chain any number

// Bytes per value of a TIFF field type; 0 for a type this check does not know (then skipped).
std::uint64_t typeSize(std::uint16_t type)
{
    switch (type) {
    case 1: // BYTE
    case 2: // ASCII
    case 6: // SBYTE
    case 7: // UNDEFINED
        return 1;
    case 3: // SHORT
    case 8: // SSHORT
        return 2;
    case 4:  // LONG
    case 9:  // SLONG
    case 11: // FLOAT
    case 13: // IFD
        return 4;
    case 5:  // RATIONAL
    case 10: // SRATIONAL
    case 12: // DOUBLE
    case 16: // LONG8
    case 17: // SLONG8
    case 18: // IFD8
        return 8;
    default: return 0;
    }
}

// Why the structure is broken: `cut` for what an incomplete copy looks like (something lies past
// the end), otherwise damage that no truncation makes.
struct Problem {
    bool cut = true;
    std::string detail;
};

class TiffReader {
public:
    TiffReader(std::ifstream &in, std::uint64_t size, bool bigEndian) : m_in(in), m_size(size), m_bigEndian(bigEndian) { }

    std::uint64_t size() const { return m_size; }
    bool contains(std::uint64_t offset, std::uint64_t length) const { return offset <= m_size && length <= m_size - offset; }

    // Reads `length` (<= 8) bytes at `offset` as an unsigned number in the file's byte order.
    std::optional<std::uint64_t> number(std::uint64_t offset, unsigned length)
    {
        std::array<unsigned char, 8> bytes{};
        if (!contains(offset, length) || !read(offset, bytes.data(), length))
            return std::nullopt;
        return decode(bytes.data(), length);
    }

    std::uint64_t decode(const unsigned char *bytes, unsigned length) const
    {
        std::uint64_t value = 0;
        for (unsigned i = 0; i < length; ++i) {
            const unsigned shift = 8u * (m_bigEndian ? length - 1 - i : i);
            value |= static_cast<std::uint64_t>(bytes[i]) << shift;
        }
        return value;
    }

    bool read(std::uint64_t offset, unsigned char *out, std::uint64_t length)
    {
        m_in.clear();
        m_in.seekg(static_cast<std::streamoff>(offset));
        return static_cast<bool>(m_in.read(reinterpret_cast<char *>(out), static_cast<std::streamsize>(length)));
    }

private:
    std::ifstream &m_in;
    std::uint64_t m_size;
    bool m_bigEndian;
};

// One directory entry as stored.
struct Entry {
    std::uint16_t tag = 0, type = 0;
    std::uint64_t count = 0;
    std::uint64_t valueOffset = 0; // where the values are (inside the entry when they fit)
};

std::string directoryName(int index)
{
    return "TIFF directory " + std::to_string(index);
}

// The values of a strip or tile offsets / byte counts entry; nullopt when they cannot be read.
std::optional<std::vector<std::uint64_t>> arrayValues(TiffReader &reader, const Entry &entry)
{
    const std::uint64_t size = typeSize(entry.type);
    if (entry.type != 3 && entry.type != 4 && entry.type != 16)
        return std::nullopt;
    std::vector<unsigned char> bytes(static_cast<std::size_t>(entry.count * size));
    if (!bytes.empty() && !reader.read(entry.valueOffset, bytes.data(), bytes.size()))
        return std::nullopt;
    std::vector<std::uint64_t> values(static_cast<std::size_t>(entry.count));
    for (std::size_t i = 0; i < values.size(); ++i)
        values[i] = reader.decode(bytes.data() + i * size, static_cast<unsigned>(size));
    return values;
}

std::optional<Problem> checkDirectory(TiffReader &reader, bool bigTiff, std::uint64_t offset, int index, std::uint64_t &next)
{
    const unsigned countSize = bigTiff ? 8 : 2, entrySize = bigTiff ? 20 : 12, offsetSize = bigTiff ? 8 : 4;
    const std::string name = directoryName(index);
    if (offset >= reader.size())
        return Problem{true, name + " lies past the end of the file"};
    const std::optional<std::uint64_t> count = reader.number(offset, countSize);
    if (!count || *count > reader.size() / entrySize || !reader.contains(offset + countSize, *count * entrySize + offsetSize))
        return Problem{true, name + " runs past the end of the file"};
    if (*count == 0)
        return Problem{false, name + " is empty"};
    std::vector<unsigned char> bytes(static_cast<std::size_t>(*count * entrySize + offsetSize));
    if (!reader.read(offset + countSize, bytes.data(), bytes.size()))
        return Problem{true, name + " runs past the end of the file"};
    next = reader.decode(bytes.data() + *count * entrySize, offsetSize);
    if (index == 1 && !bigTiff) {
        for (std::uint64_t i = 0; i < *count; ++i) {
            if (reader.decode(bytes.data() + i * entrySize, 2) == kNdpiFormatFlag) {
                next = 0; // NDPI: nothing more this check can judge
                return std::nullopt;
            }
        }
    }

    std::optional<Entry> offsets, byteCounts;
    for (std::uint64_t i = 0; i < *count; ++i) {
        const unsigned char *raw = bytes.data() + i * entrySize;
        Entry entry;
        entry.tag = static_cast<std::uint16_t>(reader.decode(raw, 2));
        entry.type = static_cast<std::uint16_t>(reader.decode(raw + 2, 2));
        entry.count = reader.decode(raw + 4, bigTiff ? 8 : 4);
        const std::uint64_t size = typeSize(entry.type);
        if (size == 0)
            continue;
        const std::uint64_t valueField = offset + countSize + i * entrySize + (bigTiff ? 12 : 8);
        if (entry.count > reader.size() / size)
            return Problem{true, "the data of " + name + " runs past the end of the file"};
        entry.valueOffset = entry.count * size <= offsetSize ? valueField : reader.decode(raw + (bigTiff ? 12 : 8), offsetSize);
        if (!reader.contains(entry.valueOffset, entry.count * size))
            return Problem{true, "the data of " + name + " runs past the end of the file"};
        if (entry.tag == kStripOffsets || entry.tag == kTileOffsets)
            offsets = entry;
        else if (entry.tag == kStripByteCounts || entry.tag == kTileByteCounts)
            byteCounts = entry;
    }
    if (!offsets || !byteCounts)
        return std::nullopt;
    const auto starts = arrayValues(reader, *offsets);
    const auto lengths = arrayValues(reader, *byteCounts);
    if (!starts || !lengths)
        return std::nullopt;
    for (std::size_t i = 0; i < std::min(starts->size(), lengths->size()); ++i) {
        if ((*lengths)[i] != 0 && !reader.contains((*starts)[i], (*lengths)[i]))
            return Problem{true, "the pixels of " + name + " run past the end of the file"};
    }
    return std::nullopt;
}

std::optional<Problem> check(const fs::path &path)
{
    std::error_code ec;
    const std::uint64_t size = fs::file_size(path, ec);
    if (ec)
        return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    std::array<unsigned char, 16> head{};
    if (!in.read(reinterpret_cast<char *>(head.data()), 4))
        return std::nullopt;
    const bool little = head[0] == 'I' && head[1] == 'I', big = head[0] == 'M' && head[1] == 'M';
    if (!little && !big)
        return std::nullopt;
    TiffReader reader(in, size, big);
    const std::uint64_t version = reader.decode(head.data() + 2, 2);
    if (version != 42 && version != 43)
        return std::nullopt;
    const bool bigTiff = version == 43;
    const unsigned headerSize = bigTiff ? 16 : 8;
    if (size < headerSize || !reader.read(0, head.data(), headerSize))
        return Problem{true, "it ends inside its TIFF header"};
    std::uint64_t offset = bigTiff ? reader.decode(head.data() + 8, 8) : reader.decode(head.data() + 4, 4);
    if (offset == 0)
        return Problem{false, "its TIFF header points to no image"};

    std::set<std::uint64_t> seen;
    for (int index = 1; offset != 0 && index <= kMaxDirectories; ++index) {
        if (offset < headerSize)
            return Problem{false, directoryName(index) + " points into the file's header"};
        if (!seen.insert(offset).second)
            return Problem{false, "its TIFF directories form a loop"};
        std::uint64_t next = 0;
        if (std::optional<Problem> problem = checkDirectory(reader, bigTiff, offset, index, next))
            return problem;
        offset = next;
    }
    return std::nullopt;
}

} // namespace

std::string tiffStructureProblem(const fs::path &path)
{
    try {
        const std::optional<Problem> problem = check(path);
        if (!problem)
            return {};
        if (problem->cut)
            return "the file is cut short or damaged: " + problem->detail + "; copy or download it again";
        return "the file is damaged: " + problem->detail;
    } catch (const std::exception &) {
        return {}; // (allocation) the backends give their own errors
    }
}

} // namespace icmil::slide
