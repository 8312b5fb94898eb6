// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace icmil::slide {

// A temporary file of raw RGB rows holding one pyramid level while the slide is written: rows
// are appended once, then read back (possibly more than once, after rewind()). The file is
// removed when the object goes away, on success and on error alike.
// Errors throw std::runtime_error whose message is the cause only (e.g. "No space left on device").
class RawLevelFile {
public:
    RawLevelFile(std::filesystem::path path, std::int64_t width, std::int64_t height);
    ~RawLevelFile();
    RawLevelFile(const RawLevelFile &) = delete;
    RawLevelFile &operator=(const RawLevelFile &) = delete;

    std::int64_t width() const { return m_width; }
    std::int64_t height() const { return m_height; }

    void appendRow(const std::uint8_t *row);
    // Ends writing (checks every row arrived) and positions reading at the first row.
    void rewind();
    // Reads the next `rows` rows into `into` (`stride` bytes apart).
    void readRows(std::uint8_t *into, std::size_t stride, std::int64_t rows);

private:
    std::filesystem::path m_path;
    std::int64_t m_width;
    std::int64_t m_height;
    std::size_t m_rowBytes;
    int m_fd = -1;
    std::int64_t m_rowsWritten = 0;
    std::uint64_t m_readOffset = 0;
};

} // namespace icmil::slide
