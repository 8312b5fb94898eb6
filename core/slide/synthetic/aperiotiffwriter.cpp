// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/aperiotiffwriter.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tiffio.h>

namespace icmil::slide {

namespace {

AperioTiffWriter &writerOf(thandle_t handle)
{
    return *static_cast<AperioTiffWriter *>(handle);
}

tmsize_t readProc(thandle_t handle, void *buffer, tmsize_t size)
{
    AperioTiffWriter &writer = writerOf(handle);
    ssize_t got = 0;
    do
        got = ::read(writer.fileDescriptor(), buffer, static_cast<std::size_t>(size));
    while (got < 0 && errno == EINTR);
    if (got < 0)
        writer.recordIoError(errno);
    return got;
}

tmsize_t writeProc(thandle_t handle, void *buffer, tmsize_t size)
{
    AperioTiffWriter &writer = writerOf(handle);
    const auto *bytes = static_cast<const std::uint8_t *>(buffer);
    tmsize_t done = 0;
    while (done < size) {
        const ssize_t written = ::write(writer.fileDescriptor(), bytes + done, static_cast<std::size_t>(size - done));
        if (written < 0) {
            if (errno == EINTR)
                continue;
            writer.recordIoError(errno);
            return -1;
        }
        done += written;
    }
    return done;
}

toff_t seekProc(thandle_t handle, toff_t offset, int whence)
{
    AperioTiffWriter &writer = writerOf(handle);
    const off_t position = ::lseek(writer.fileDescriptor(), static_cast<off_t>(offset), whence);
    if (position < 0) {
        writer.recordIoError(errno);
        return static_cast<toff_t>(-1);
    }
    return static_cast<toff_t>(position);
}

int closeProc(thandle_t)
{
    return 0;
} // the writer closes the descriptor itself

toff_t sizeProc(thandle_t handle)
{
    struct stat status { };
    if (::fstat(writerOf(handle).fileDescriptor(), &status) != 0)
        return 0;
    return static_cast<toff_t>(status.st_size);
}

int mapProc(thandle_t, void **, toff_t *)
{
    return 0;
}
void unmapProc(thandle_t, void *, toff_t)
{ }

int onError(TIFF *, void *user, const char *module, const char *format, va_list arguments)
{
    char message[1024];
    std::vsnprintf(message, sizeof message, format, arguments);
    static_cast<AperioTiffWriter *>(user)->recordLibraryError(module ? std::string(module) + ": " + message : message);
    return 1;
}

int onWarning(TIFF *, void *, const char *, const char *, va_list)
{
    return 1;
}

} // namespace

AperioTiffWriter::AperioTiffWriter(const std::filesystem::path &path, bool bigTiff)
{
    m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (m_fd < 0)
        throw std::runtime_error(std::strerror(errno));
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, onError, this);
    TIFFOpenOptionsSetWarningHandlerExtR(options, onWarning, this);
    m_tiff = TIFFClientOpenExt(path.c_str(), bigTiff ? "w8" : "w", static_cast<thandle_t>(this), readProc, writeProc, seekProc, closeProc,
                               sizeProc, mapProc, unmapProc, options);
    TIFFOpenOptionsFree(options);
    if (!m_tiff)
        fail("libtiff cannot create the file");
}

AperioTiffWriter::~AperioTiffWriter()
{
    if (m_tiff)
        TIFFClose(m_tiff);
    if (m_fd >= 0)
        ::close(m_fd);
}

void AperioTiffWriter::recordLibraryError(const std::string &message)
{
    if (m_libraryError.empty())
        m_libraryError = message;
}

void AperioTiffWriter::recordIoError(int error)
{
    if (m_ioError == 0)
        m_ioError = error;
}

void AperioTiffWriter::fail(const std::string &fallback)
{
    if (m_ioError != 0)
        throw std::runtime_error(std::strerror(m_ioError));
    throw std::runtime_error(m_libraryError.empty() ? fallback : m_libraryError);
}

void AperioTiffWriter::setField(bool ok, const char *tag)
{
    if (!ok)
        fail(std::string("libtiff refused the ") + tag + " tag");
}

void AperioTiffWriter::beginTiledLevel(const TiledLevel &level)
{
    TIFF *t = m_tiff;
    setField(TIFFSetField(t, TIFFTAG_SUBFILETYPE, level.reduced ? FILETYPE_REDUCEDIMAGE : 0), "SubfileType");
    setField(TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(level.width)), "ImageWidth");
    setField(TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(level.height)), "ImageLength");
    setField(TIFFSetField(t, TIFFTAG_TILEWIDTH, static_cast<std::uint32_t>(level.tileSize)), "TileWidth");
    setField(TIFFSetField(t, TIFFTAG_TILELENGTH, static_cast<std::uint32_t>(level.tileSize)), "TileLength");
    setField(TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8), "BitsPerSample");
    setField(TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3), "SamplesPerPixel");
    setField(TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG), "PlanarConfiguration");
    setField(TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG), "Compression");
    setField(TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR), "Photometric");
    setField(TIFFSetField(t, TIFFTAG_YCBCRSUBSAMPLING, 2, 2), "YCbCrSubsampling");
    if (!level.description.empty())
        setField(TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, level.description.c_str()), "ImageDescription");
    if (level.pixelsPerCentimetre > 0.0) {
        setField(TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_CENTIMETER), "ResolutionUnit");
        setField(TIFFSetField(t, TIFFTAG_XRESOLUTION, level.pixelsPerCentimetre), "XResolution");
        setField(TIFFSetField(t, TIFFTAG_YRESOLUTION, level.pixelsPerCentimetre), "YResolution");
    }
}

void AperioTiffWriter::writeTile(std::uint32_t index, const std::vector<std::uint8_t> &jpeg)
{
    const auto size = static_cast<tmsize_t>(jpeg.size());
    if (TIFFWriteRawTile(m_tiff, index, const_cast<std::uint8_t *>(jpeg.data()), size) != size)
        fail("libtiff cannot write tile " + std::to_string(index));
}

void AperioTiffWriter::endTiledLevel()
{
    if (!TIFFWriteDirectory(m_tiff))
        fail("libtiff cannot write a directory");
}

void AperioTiffWriter::writeStrippedImage(const std::uint8_t *rgb, int width, int height, const std::string &description,
                                          StripCompression compression, int jpegQuality)
{
    TIFF *t = m_tiff;
    constexpr int kRowsPerStrip = 64; // a multiple of 16, as JPEG with 4:2:0 needs
    setField(TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE), "SubfileType");
    setField(TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<std::uint32_t>(width)), "ImageWidth");
    setField(TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<std::uint32_t>(height)), "ImageLength");
    setField(TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8), "BitsPerSample");
    setField(TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3), "SamplesPerPixel");
    setField(TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG), "PlanarConfiguration");
    setField(TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, static_cast<std::uint32_t>(kRowsPerStrip)), "RowsPerStrip");
    if (compression == StripCompression::Jpeg) {
        setField(TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_JPEG), "Compression");
        setField(TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR), "Photometric");
        setField(TIFFSetField(t, TIFFTAG_YCBCRSUBSAMPLING, 2, 2), "YCbCrSubsampling");
        setField(TIFFSetField(t, TIFFTAG_JPEGQUALITY, jpegQuality), "JpegQuality");
        setField(TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB), "JpegColorMode");
    } else {
        setField(TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW), "Compression");
        setField(TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB), "Photometric");
        setField(TIFFSetField(t, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL), "Predictor");
    }
    setField(TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, description.c_str()), "ImageDescription");
    const std::size_t rowBytes = static_cast<std::size_t>(width) * 3;
    for (int first = 0, strip = 0; first < height; first += kRowsPerStrip, ++strip) {
        const int rows = std::min(kRowsPerStrip, height - first);
        auto *data = const_cast<std::uint8_t *>(rgb + static_cast<std::size_t>(first) * rowBytes);
        if (TIFFWriteEncodedStrip(t, static_cast<std::uint32_t>(strip), data, static_cast<tmsize_t>(rows * rowBytes)) < 0)
            fail("libtiff cannot write strip " + std::to_string(strip));
    }
    if (!TIFFWriteDirectory(t))
        fail("libtiff cannot write a directory");
}

void AperioTiffWriter::close()
{
    if (!TIFFFlush(m_tiff))
        fail("libtiff cannot flush the file");
    TIFFClose(m_tiff); // our close procedure leaves the descriptor open
    m_tiff = nullptr;
    if (::fsync(m_fd) != 0)
        recordIoError(errno);
    if (::close(m_fd) != 0)
        recordIoError(errno);
    m_fd = -1;
    if (m_ioError != 0 || !m_libraryError.empty())
        fail("libtiff reported an error");
}

} // namespace icmil::slide
