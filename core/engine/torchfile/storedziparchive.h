// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// StoredZipArchive: a bounds-checked reader of ZIP archives whose entries are stored
// (uncompressed), ZIP64 included: what torch.save and torch::pickle_save write. It parses the
// central directory once; entry data is read straight from the file at its offset, CRC-checked
// as it is read. Compressed or encrypted entries are listed but refused when read; two entries of
// one name are refused.
//
// Why not LibTorch's caffe2::serialize::PyTorchStreamReader: in LibTorch 1.13 its getRecord()
// returns a storage with one byte changed without a word (measured: it verifies no CRC), its
// errors are c10::Errors in miniz's words rather than sentences naming the member, and a reader
// is needed for the legacy format anyway. Peak memory is the same (one copy of each storage).

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
    // than `maxSize`. A CRC mismatch is EngineError "checkpoint damaged: <name> fails its CRC check".
    std::string readSmall(const Entry &entry, std::uint64_t maxSize) const;
    // An entry's first `count` bytes into `destination` (a storage: no intermediate copy). The
    // whole entry is CRC-checked as it is read, with readSmall's error.
    void readInto(const Entry &entry, void *destination, std::uint64_t count) const;

    // CRC-32 as ZIP computes it; crc32Update(crc32(a), b) == crc32(a + b), starting from 0.
    static std::uint32_t crc32(std::string_view bytes);
    static std::uint32_t crc32Update(std::uint32_t crc, const void *data, std::size_t size);

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
