#include "project/atomicfile.h"

#include "project/projecterror.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const fs::path &path, int error)
{
    throw ProjectError("Cannot write '" + path.string() + "': " + std::strerror(error));
}

} // namespace

void writeFileAtomically(const fs::path &path, std::string_view contents)
{
    const fs::path temp = fs::path(path.string() + ".partial");
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fail(path, errno);

    const char *data = contents.data();
    std::size_t left = contents.size();
    while (left > 0) {
        const ssize_t written = ::write(fd, data, left);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            const int error = errno;
            ::close(fd);
            ::unlink(temp.c_str());
            fail(path, error);
        }
        data += written;
        left -= static_cast<std::size_t>(written);
    }
    const int syncError = ::fsync(fd) != 0 ? errno : 0;
    const int closeError = ::close(fd) != 0 ? errno : 0;
    if (syncError != 0 || closeError != 0) {
        ::unlink(temp.c_str());
        fail(path, syncError != 0 ? syncError : closeError);
    }
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        const int error = errno;
        ::unlink(temp.c_str());
        fail(path, error);
    }
    // Make the rename itself durable.
    const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
    const int dirFd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirFd >= 0) {
        ::fsync(dirFd);
        ::close(dirFd);
    }
}

} // namespace icmil::project
