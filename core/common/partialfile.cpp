// SPDX-License-Identifier: GPL-3.0-or-later
#include "common/partialfile.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace icmil {

namespace {

// The partial files of live PartialFile objects, for abandonPartialFiles(). A file is created and
// renamed under the mutex, so none appears or is committed after the abandon.
struct LivePartialFiles {
    std::mutex mutex;
    std::multiset<std::string> paths;
    bool abandoned = false;
};

LivePartialFiles &livePartialFiles()
{
    static auto *live = new LivePartialFiles; // never destroyed: writers may outlive static destruction
    return *live;
}

constexpr const char *kAbandoned = "the process is stopping";

// Opens (creates, truncates) the partial file for writing, unless the process is stopping.
int openPartial(const std::filesystem::path &path)
{
    LivePartialFiles &live = livePartialFiles();
    const std::lock_guard lock(live.mutex);
    if (live.abandoned)
        throw std::runtime_error(kAbandoned);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        throw std::runtime_error(std::strerror(errno));
    return fd;
}

} // namespace

PartialFile::PartialFile(std::filesystem::path finalPath)
    : m_finalPath(std::move(finalPath)), m_partialPath(m_finalPath.string() + ".partial")
{
    LivePartialFiles &live = livePartialFiles();
    const std::lock_guard lock(live.mutex);
    live.paths.insert(m_partialPath.string());
}

PartialFile::~PartialFile()
{
    LivePartialFiles &live = livePartialFiles();
    const std::lock_guard lock(live.mutex);
    if (!m_committed) {
        std::error_code ignored;
        std::filesystem::remove(m_partialPath, ignored);
    }
    if (const auto it = live.paths.find(m_partialPath.string()); it != live.paths.end())
        live.paths.erase(it);
}

void PartialFile::touch()
{
    ::close(openPartial(m_partialPath));
}

void PartialFile::write(std::string_view bytes)
{
    const int fd = openPartial(m_partialPath);
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
    {
        LivePartialFiles &live = livePartialFiles();
        const std::lock_guard lock(live.mutex);
        if (live.abandoned)
            throw std::runtime_error(kAbandoned);
        if (std::rename(m_partialPath.c_str(), m_finalPath.c_str()) != 0)
            throw std::runtime_error(std::strerror(errno));
        m_committed = true;
    }
    // Make the rename itself durable.
    const std::filesystem::path directory = m_finalPath.has_parent_path() ? m_finalPath.parent_path() : ".";
    const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

void abandonPartialFiles()
{
    LivePartialFiles &live = livePartialFiles();
    const std::lock_guard lock(live.mutex);
    live.abandoned = true;
    for (const std::string &path : live.paths)
        ::unlink(path.c_str());
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
