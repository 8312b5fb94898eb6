// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// RandomAccessFile: a read-only file read at explicit offsets, every read checked against the
// file's size (so a corrupted length can never read past the end or allocate beyond the file).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace icmil::engine {

class RandomAccessFile {
public:
    // Throws EngineError "the file cannot be opened" when it cannot be read.
    explicit RandomAccessFile(const std::filesystem::path &path);

    std::uint64_t size() const { return m_size; }
    bool contains(std::uint64_t offset, std::uint64_t count) const { return offset <= m_size && count <= m_size - offset; }

    // Reads `count` bytes at `offset`. Throws EngineError naming `what` when they lie beyond the
    // end of the file ("<what> lies beyond the end of the file (truncated?)") or the read fails.
    void read(std::uint64_t offset, void *destination, std::uint64_t count, const char *what) const;
    std::string read(std::uint64_t offset, std::uint64_t count, const char *what) const;

private:
    mutable std::ifstream m_stream;
    std::uint64_t m_size = 0;
};

} // namespace icmil::engine
