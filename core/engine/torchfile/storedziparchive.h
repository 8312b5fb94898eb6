// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// StoredZipArchive: a bounds-checked reader of ZIP archives whose entries are stored
// (uncompressed), ZIP64 included: what torch.save and torch::pickle_save write. It parses the
// central directory once; entry data is read straight from the file at its offset. Compressed or
// encrypted entries are listed but refused when read.

#include "engine/torchfile/randomaccessfile.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace icmil::engine {

class StoredZipArchive {
public:
    struct Entry {
        std::string name;
        std::uint64_t size = 0; // uncompressed
        std::uint64_t compressedSize = 0;
        std::uint64_t localHeaderOffset = 0;
        std::uint32_t crc32 = 0;
        std::uint16_t method = 0; // 0: stored
        std::uint16_t flags = 0;
    };

    // Reads the central directory. Throws EngineError when the file is not a ZIP archive or its
    // directory is truncated or inconsistent.
    explicit StoredZipArchive(const RandomAccessFile &file);

    const std::vector<Entry> &entries() const { return m_entries; }
    const Entry *find(std::string_view name) const; // nullptr when absent

    // Where a stored entry's bytes start in the file, after checking its local header and that
    // its data lies inside the file. Throws EngineError for a compressed or encrypted entry.
    std::uint64_t dataOffset(const Entry &entry) const;
    // A whole entry, CRC-checked; for small entries (data.pkl, version). Refuses entries larger
    // than `maxSize`.
    std::string readSmall(const Entry &entry, std::uint64_t maxSize) const;
    // An entry's first `count` bytes into `destination` (no CRC: storages may be gigabytes).
    void readInto(const Entry &entry, void *destination, std::uint64_t count) const;

    static std::uint32_t crc32(std::string_view bytes);

private:
    struct Directory {
        std::uint64_t entryCount = 0;
        std::uint64_t offset = 0;
        std::uint64_t size = 0;
    };

    Directory locateDirectory() const;
    void readDirectory(const Directory &directory);

    const RandomAccessFile &m_file;
    std::vector<Entry> m_entries;
    std::unordered_map<std::string, std::size_t> m_index;
};

} // namespace icmil::engine
