// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

struct tiff; // libtiff's TIFF handle

namespace icmil::slide {

// Writes the directories of an Aperio-style SVS (or of any tiled pyramidal TIFF) with libtiff:
// tiled levels whose tiles arrive as ready-made JPEG streams (TIFFWriteRawTile), and stripped
// associated images encoded by libtiff.
// I/O goes through our own file procedures so the real cause of a failure (errno) is kept.
// Errors throw std::runtime_error whose message is the cause only ("No space left on device").
class AperioTiffWriter {
public:
    struct TiledLevel {
        std::int64_t width = 0;
        std::int64_t height = 0;
        int tileSize = 256;
        std::string description;          // empty: no ImageDescription
        double pixelsPerCentimetre = 0.0; // 0: no resolution tags (the size of a pixel is unknown)
        bool reduced = false;             // NewSubfileType: a reduced-resolution copy of level 0
    };
    enum class StripCompression { Jpeg, Lzw };

    AperioTiffWriter(const std::filesystem::path &path, bool bigTiff);
    ~AperioTiffWriter();
    AperioTiffWriter(const AperioTiffWriter &) = delete;
    AperioTiffWriter &operator=(const AperioTiffWriter &) = delete;

    void beginTiledLevel(const TiledLevel &level);
    // Tiles in row-major order, each a complete JPEG stream of tileSize x tileSize pixels.
    void writeTile(std::uint32_t index, const std::vector<std::uint8_t> &jpeg);
    void endTiledLevel();

    // A whole stripped RGB directory (rgb: width * 3 bytes per row, rows contiguous).
    void writeStrippedImage(const std::uint8_t *rgb, int width, int height, const std::string &description, StripCompression compression,
                            int jpegQuality);

    // Flushes, fsyncs and closes; the file is complete when this returns.
    void close();

    // Used by the libtiff callbacks in the .cpp.
    void recordLibraryError(const std::string &message);
    void recordIoError(int error);
    int fileDescriptor() const { return m_fd; }

private:
    [[noreturn]] void fail(const std::string &fallback);
    void setField(bool ok, const char *tag);

    int m_fd = -1;
    tiff *m_tiff = nullptr;
    int m_ioError = 0;
    std::string m_libraryError;
};

} // namespace icmil::slide
