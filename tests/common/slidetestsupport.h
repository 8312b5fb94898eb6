// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Fixtures shared by the slide and viewer tests (header-only; link TIFF::TIFF).

#include <QByteArray>
#include <QtGlobal>

#include <tiffio.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace icmil::test {

// The test's scratch folder: $ICMIL_TEST_SCRATCH (set per test by CTest), else a folder in the
// system temp directory named after the test. Created if missing.
inline std::filesystem::path scratchDir(const std::string &testName)
{
    const QByteArray env = qgetenv("ICMIL_TEST_SCRATCH");
    std::filesystem::path dir
        = env.isEmpty() ? std::filesystem::temp_directory_path() / ("icmil-" + testName) : std::filesystem::path(env.toStdString());
    std::filesystem::create_directories(dir);
    return dir;
}

// Copies `slide` to `damaged` and overwrites the JPEG header of level 0's first tile with zeros:
// the copy still opens, and reading that tile fails with libjpeg's "Not a JPEG file: starts with
// 0x00 0x00". Returns false when the copy cannot be made.
inline bool writeSlideWithDamagedFirstTile(const std::filesystem::path &slide, const std::filesystem::path &damaged)
{
    std::filesystem::copy_file(slide, damaged, std::filesystem::copy_options::overwrite_existing);
    TIFF *tiff = TIFFOpen(damaged.c_str(), "r");
    if (tiff == nullptr)
        return false;
    toff_t *offsets = nullptr;
    const bool found = TIFFGetField(tiff, TIFFTAG_TILEOFFSETS, &offsets) != 0;
    const toff_t offset = found ? offsets[0] : 0;
    TIFFClose(tiff);
    if (!found)
        return false;
    std::fstream file(damaged, std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(static_cast<std::streamoff>(offset));
    const char zeros[16] = {};
    file.write(zeros, sizeof zeros);
    return static_cast<bool>(file);
}

} // namespace icmil::test
