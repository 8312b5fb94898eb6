// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/storedziparchive.h"

#include "engine/engineerror.h"

#include <algorithm>
#include <array>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define ICMIL_CRC32_CLMUL
#include <immintrin.h>
#endif

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
// readInto's unit: small enough to stay in the L2 cache between the read and its CRC.
constexpr std::uint64_t kReadChunk = std::uint64_t{1} << 18;

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

// CRC-32 (ZIP's polynomial, reflected) by slicing: kCrcTables[0] is the classic byte table and
// kCrcTables[k][b] the CRC of byte b followed by k zero bytes, so 16 bytes are folded per step
// with 16 independent lookups (no dependency chain through the table, unlike byte-at-a-time).
constexpr std::size_t kCrcSlices = 16;
using CrcTables = std::array<std::array<std::uint32_t, 256>, kCrcSlices>;

constexpr CrcTables makeCrcTables()
{
    CrcTables tables{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t value = i;
        for (int bit = 0; bit < 8; ++bit)
            value = (value & 1) ? 0xedb88320u ^ (value >> 1) : value >> 1;
        tables[0][i] = value;
    }
    for (std::size_t slice = 1; slice < kCrcSlices; ++slice) {
        for (std::size_t i = 0; i < 256; ++i)
            tables[slice][i] = (tables[slice - 1][i] >> 8) ^ tables[0][tables[slice - 1][i] & 0xff];
    }
    return tables;
}

constexpr CrcTables kCrcTables = makeCrcTables();

// Four bytes as a little-endian word, whatever the host's byte order (one load on x86 and ARM).
inline std::uint32_t word(const std::uint8_t *bytes)
{
    return static_cast<std::uint32_t>(bytes[0]) | (static_cast<std::uint32_t>(bytes[1]) << 8) | (static_cast<std::uint32_t>(bytes[2]) << 16)
        | (static_cast<std::uint32_t>(bytes[3]) << 24);
}

[[noreturn]] void corrupted(const std::string &what)
{
    throw EngineError("the ZIP archive is corrupted: " + what);
}

[[noreturn]] void failsCrc(const std::string &name)
{
    throw EngineError("checkpoint damaged: " + name + " fails its CRC check");
}

// The running (inverted) CRC over `size` bytes, 16 at a time by the tables.
std::uint32_t crc32Tables(std::uint32_t crc, const std::uint8_t *bytes, std::size_t size)
{
    const auto &t = kCrcTables;
    for (; size >= kCrcSlices; size -= kCrcSlices, bytes += kCrcSlices) {
        const std::uint32_t a = word(bytes) ^ crc;
        const std::uint32_t b = word(bytes + 4);
        const std::uint32_t c = word(bytes + 8);
        const std::uint32_t d = word(bytes + 12);
        crc = t[15][a & 0xff] ^ t[14][(a >> 8) & 0xff] ^ t[13][(a >> 16) & 0xff] ^ t[12][a >> 24] ^ t[11][b & 0xff] ^ t[10][(b >> 8) & 0xff]
            ^ t[9][(b >> 16) & 0xff] ^ t[8][b >> 24] ^ t[7][c & 0xff] ^ t[6][(c >> 8) & 0xff] ^ t[5][(c >> 16) & 0xff] ^ t[4][c >> 24]
            ^ t[3][d & 0xff] ^ t[2][(d >> 8) & 0xff] ^ t[1][(d >> 16) & 0xff] ^ t[0][d >> 24];
    }
    for (; size > 0; --size, ++bytes)
        crc = t[0][(crc ^ *bytes) & 0xff] ^ (crc >> 8);
    return crc;
}

#ifdef ICMIL_CRC32_CLMUL
// On x86-64 with PCLMULQDQ: the data folded 64 bytes per step by carry-less multiplication, then
// reduced to 32 bits (Barrett), as in Intel's "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ". The constants are x^n mod P(x) for the fold distances, bit-reflected, for ZIP's P.
constexpr std::size_t kClmulMinimum = 64;

#define ICMIL_CLMUL_TARGET __attribute__((target("pclmul,sse4.1")))

ICMIL_CLMUL_TARGET inline __m128i load(const std::uint8_t *at)
{
    return _mm_loadu_si128(reinterpret_cast<const __m128i *>(at));
}

// `value` moved 128 (or 512) bits further along, plus the next block.
ICMIL_CLMUL_TARGET inline __m128i fold(__m128i value, __m128i constants, __m128i next)
{
    const __m128i low = _mm_clmulepi64_si128(value, constants, 0x00);
    const __m128i high = _mm_clmulepi64_si128(value, constants, 0x11);
    return _mm_xor_si128(_mm_xor_si128(low, high), next);
}

ICMIL_CLMUL_TARGET std::uint32_t crc32Clmul(std::uint32_t crc, const std::uint8_t *bytes, std::size_t size)
{
    // size >= 64 and a multiple of 16; `crc` is the running (inverted) value.
    const __m128i by512 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
    const __m128i by128 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
    const __m128i by64 = _mm_set_epi64x(0, 0x0163cd6124);
    const __m128i barrett = _mm_set_epi64x(0x01f7011641, 0x01db710641);
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    __m128i x0 = _mm_xor_si128(load(bytes), _mm_cvtsi32_si128(static_cast<int>(crc)));
    __m128i x1 = load(bytes + 16);
    __m128i x2 = load(bytes + 32);
    __m128i x3 = load(bytes + 48);
    bytes += 64;
    size -= 64;
    for (; size >= 64; size -= 64, bytes += 64) {
        x0 = fold(x0, by512, load(bytes));
        x1 = fold(x1, by512, load(bytes + 16));
        x2 = fold(x2, by512, load(bytes + 32));
        x3 = fold(x3, by512, load(bytes + 48));
    }
    x0 = fold(fold(fold(x0, by128, x1), by128, x2), by128, x3);
    for (; size >= 16; size -= 16, bytes += 16)
        x0 = fold(x0, by128, load(bytes));

    // 128 bits to 64, then 64 to 32 by Barrett reduction.
    x0 = _mm_xor_si128(_mm_srli_si128(x0, 8), _mm_clmulepi64_si128(x0, by128, 0x10));
    x0 = _mm_xor_si128(_mm_srli_si128(x0, 4), _mm_clmulepi64_si128(_mm_and_si128(x0, low32), by64, 0x00));
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x0, low32), barrett, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), barrett, 0x00);
    return static_cast<std::uint32_t>(_mm_extract_epi32(_mm_xor_si128(x0, t), 1));
}
#endif

} // namespace

std::uint32_t StoredZipArchive::crc32(std::string_view bytes)
{
    return crc32Update(0, bytes.data(), bytes.size());
}

std::uint32_t StoredZipArchive::crc32Update(std::uint32_t crc, const void *data, std::size_t size)
{
    const auto *bytes = static_cast<const std::uint8_t *>(data);
    crc = ~crc;
#ifdef ICMIL_CRC32_CLMUL
    static const bool clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    if (clmul && size >= kClmulMinimum) {
        const std::size_t blocks = size & ~std::size_t{15};
        crc = crc32Clmul(crc, bytes, blocks);
        bytes += blocks;
        size -= blocks;
    }
#endif
    return ~crc32Tables(crc, bytes, size);
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
        if (!m_index.emplace(entry.name, m_entries.size()).second)
            corrupted("it holds two entries named '" + entry.name + "'");
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
        failsCrc(entry.name);
    return bytes;
}

void StoredZipArchive::readInto(const Entry &entry, void *destination, std::uint64_t count) const
{
    const std::uint64_t start = dataOffset(entry);
    if (count > entry.size)
        throw EngineError("ZIP entry '" + entry.name + "' is shorter than expected");
    // In chunks, each CRC-checked while it is still in the cache: no second pass over memory and
    // no second copy. Bytes of the entry past `count` (torch.save writes none) are checked too,
    // through a small buffer, so every member read is verified whole.
    auto *bytes = static_cast<char *>(destination);
    std::uint32_t crc = 0;
    for (std::uint64_t done = 0; done < count;) {
        const std::uint64_t chunk = std::min(count - done, kReadChunk);
        m_file.read(start + done, bytes + done, chunk, "a ZIP entry");
        crc = crc32Update(crc, bytes + done, static_cast<std::size_t>(chunk));
        done += chunk;
    }
    if (count < entry.size) {
        std::string rest(static_cast<std::size_t>(std::min(entry.size - count, kReadChunk)), '\0');
        for (std::uint64_t done = count; done < entry.size;) {
            const std::uint64_t chunk = std::min(entry.size - done, kReadChunk);
            m_file.read(start + done, rest.data(), chunk, "a ZIP entry");
            crc = crc32Update(crc, rest.data(), static_cast<std::size_t>(chunk));
            done += chunk;
        }
    }
    if (crc != entry.crc32)
        failsCrc(entry.name);
}

} // namespace icmil::engine
