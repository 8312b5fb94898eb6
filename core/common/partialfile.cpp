// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/partialfile.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace icmil {

PartialFile::PartialFile(std::filesystem::path finalPath)
    : m_finalPath(std::move(finalPath)), m_partialPath(m_finalPath.string() + ".partial")
{ }

PartialFile::~PartialFile()
{
    if (!m_committed) {
        std::error_code ignored;
        std::filesystem::remove(m_partialPath, ignored);
    }
}

void PartialFile::touch()
{
    const int fd = ::open(m_partialPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::runtime_error(std::strerror(errno));
    ::close(fd);
}

void PartialFile::write(std::string_view bytes)
{
    const int fd = ::open(m_partialPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::runtime_error(std::strerror(errno));
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t written = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0) {
            const int error = errno;
            ::close(fd);
            throw std::runtime_error(std::strerror(error));
        }
        done += static_cast<std::size_t>(written);
    }
    if (::fsync(fd) != 0) {
        const int error = errno;
        ::close(fd);
        throw std::runtime_error(std::strerror(error));
    }
    if (::close(fd) != 0)
        throw std::runtime_error(std::strerror(errno));
}

void PartialFile::commit()
{
    if (std::rename(m_partialPath.c_str(), m_finalPath.c_str()) != 0)
        throw std::runtime_error(std::strerror(errno));
    m_committed = true;
    // Make the rename itself durable.
    const std::filesystem::path directory = m_finalPath.has_parent_path() ? m_finalPath.parent_path() : ".";
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

void writeFileAtomically(const std::filesystem::path &path, std::string_view bytes)
{
    try {
        PartialFile file(path);
        file.write(bytes);
        file.commit();
    } catch (const std::runtime_error &e) {
        throw std::runtime_error("Cannot write '" + path.string() + "': " + e.what());
    }
}

} // namespace icmil
