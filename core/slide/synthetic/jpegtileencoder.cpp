// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/jpegtileencoder.h"

#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <stdexcept>
#include <string>

#include <jpeglib.h>
#include <jerror.h>

namespace icmil::slide {

namespace {

// The error manager longjmps back into encode() instead of exiting the process.
struct ErrorManager {
    jpeg_error_mgr base;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

// A destination manager that grows a std::vector.
struct VectorDestination {
    jpeg_destination_mgr base;
    std::vector<std::uint8_t> *out;
};

void raiseError(j_common_ptr info)
{
    auto *errors = reinterpret_cast<ErrorManager *>(info->err);
    (*info->err->format_message)(info, errors->message);
    std::longjmp(errors->jump, 1);
}

void ignoreMessage(j_common_ptr, int)
{ }

void initDestination(j_compress_ptr info)
{
    auto *destination = reinterpret_cast<VectorDestination *>(info->dest);
    std::vector<std::uint8_t> &out = *destination->out;
    try {
        out.resize(std::max<std::size_t>(out.capacity(), 64 * 1024));
    } catch (...) {
        info->err->msg_code = JERR_OUT_OF_MEMORY;
        (*info->err->error_exit)(reinterpret_cast<j_common_ptr>(info));
    }
    destination->base.next_output_byte = out.data();
    destination->base.free_in_buffer = out.size();
}

boolean growDestination(j_compress_ptr info)
{
    auto *destination = reinterpret_cast<VectorDestination *>(info->dest);
    std::vector<std::uint8_t> &out = *destination->out;
    const std::size_t used = out.size(); // libjpeg only calls this with the buffer full
    try {
        out.resize(used * 2);
    } catch (...) {
        info->err->msg_code = JERR_OUT_OF_MEMORY;
        (*info->err->error_exit)(reinterpret_cast<j_common_ptr>(info));
    }
    destination->base.next_output_byte = out.data() + used;
    destination->base.free_in_buffer = out.size() - used;
    return TRUE;
}

void termDestination(j_compress_ptr info)
{
    auto *destination = reinterpret_cast<VectorDestination *>(info->dest);
    destination->out->resize(destination->out->size() - destination->base.free_in_buffer);
}

} // namespace

struct JpegTileEncoder::Codec {
    jpeg_compress_struct info;
    ErrorManager errors;
    VectorDestination destination;
    std::vector<JSAMPROW> rows;
};

JpegTileEncoder::JpegTileEncoder(int quality) : m_codec(std::make_unique<Codec>()), m_quality(quality)
{
    Codec &codec = *m_codec;
    codec.info.err = jpeg_std_error(&codec.errors.base);
    codec.errors.base.error_exit = raiseError;
    codec.errors.base.emit_message = ignoreMessage;
    if (setjmp(codec.errors.jump))
        throw std::runtime_error(std::string("JPEG encoder failed to start: ") + codec.errors.message);
    jpeg_CreateCompress(&codec.info, JPEG_LIB_VERSION, sizeof(jpeg_compress_struct));
    codec.destination.base.init_destination = initDestination;
    codec.destination.base.empty_output_buffer = growDestination;
    codec.destination.base.term_destination = termDestination;
    codec.destination.out = nullptr;
    codec.info.dest = &codec.destination.base;
}

JpegTileEncoder::~JpegTileEncoder()
{
    jpeg_destroy_compress(&m_codec->info);
}

void JpegTileEncoder::encode(const std::uint8_t *rgb, std::size_t stride, int width, int height, std::vector<std::uint8_t> &out)
{
    Codec &codec = *m_codec;
    codec.rows.resize(static_cast<std::size_t>(height));
    for (int y = 0; y < height; ++y)
        codec.rows[static_cast<std::size_t>(y)] = const_cast<JSAMPROW>(rgb + static_cast<std::size_t>(y) * stride);
    codec.destination.out = &out;
    jpeg_compress_struct &info = codec.info;
    if (setjmp(codec.errors.jump)) {
        jpeg_abort_compress(&info);
        throw std::runtime_error(std::string("JPEG encoding failed: ") + codec.errors.message);
    }
    info.image_width = static_cast<JDIMENSION>(width);
    info.image_height = static_cast<JDIMENSION>(height);
    info.input_components = 3;
    info.in_color_space = JCS_RGB;
    jpeg_set_defaults(&info); // YCbCr with 2x2 luma sampling: 4:2:0
    jpeg_set_quality(&info, m_quality, TRUE);
    info.write_JFIF_header = FALSE;
    info.dct_method = JDCT_ISLOW;
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height)
        jpeg_write_scanlines(&info, codec.rows.data() + info.next_scanline, info.image_height - info.next_scanline);
    jpeg_finish_compress(&info);
}

} // namespace icmil::slide
