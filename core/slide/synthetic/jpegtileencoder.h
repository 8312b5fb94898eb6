// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace icmil::slide {

// Encodes RGB pixels into one complete baseline JPEG stream (YCbCr, 4:2:0, no JFIF marker), the
// form OpenSlide and libtiff read from a JPEG-compressed TIFF tile with Photometric=YCbCr.
// Not thread-safe: one encoder per thread.
class JpegTileEncoder {
public:
    explicit JpegTileEncoder(int quality);
    ~JpegTileEncoder();
    JpegTileEncoder(const JpegTileEncoder &) = delete;
    JpegTileEncoder &operator=(const JpegTileEncoder &) = delete;

    // Replaces `out` with the stream. Throws std::runtime_error if libjpeg fails.
    void encode(const std::uint8_t *rgb, std::size_t stride, int width, int height, std::vector<std::uint8_t> &out);

private:
    struct Codec; // libjpeg state, kept out of this header
    std::unique_ptr<Codec> m_codec;
    int m_quality;
};

} // namespace icmil::slide
