// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/rawlevelfile.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace icmil::slide {

namespace {
[[noreturn]] void throwErrno(int error)
{
    throw std::runtime_error(std::strerror(error));
}
} // namespace

RawLevelFile::RawLevelFile(std::filesystem::path path, std::int64_t width, std::int64_t height)
    : m_path(std::move(path)), m_width(width), m_height(height), m_rowBytes(static_cast<std::size_t>(width) * 3)
{
    m_fd = ::open(m_path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (m_fd < 0)
        throwErrno(errno);
}

RawLevelFile::~RawLevelFile()
{
    if (m_fd >= 0)
        ::close(m_fd);
    std::error_code ignored;
    std::filesystem::remove(m_path, ignored);
}

void RawLevelFile::appendRow(const std::uint8_t *row)
{
    std::size_t done = 0;
    while (done < m_rowBytes) {
        const ssize_t written = ::write(m_fd, row + done, m_rowBytes - done);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            throwErrno(errno);
        }
        done += static_cast<std::size_t>(written);
    }
    ++m_rowsWritten;
}

void RawLevelFile::rewind()
{
    if (m_rowsWritten != m_height)
        throw std::runtime_error("internal error: pyramid level " + std::to_string(m_width) + "x" + std::to_string(m_height) + " received "
                                 + std::to_string(m_rowsWritten) + " rows");
    m_readOffset = 0;
}

void RawLevelFile::readRows(std::uint8_t *into, std::size_t stride, std::int64_t rows)
{
    for (std::int64_t row = 0; row < rows; ++row) {
        std::uint8_t *target = into + static_cast<std::size_t>(row) * stride;
        std::size_t done = 0;
        while (done < m_rowBytes) {
            const ssize_t got = ::pread(m_fd, target + done, m_rowBytes - done, static_cast<off_t>(m_readOffset + done));
            if (got < 0) {
                if (errno == EINTR)
                    continue;
                throwErrno(errno);
            }
            if (got == 0)
                throw std::runtime_error("temporary pyramid file '" + m_path.string() + "' ended early");
            done += static_cast<std::size_t>(got);
        }
        m_readOffset += m_rowBytes;
    }
}

} // namespace icmil::slide
