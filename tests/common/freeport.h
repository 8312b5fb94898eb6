// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A TCP port on the loopback device that is free now (the kernel's pick for port 0), for a
// torch.distributed rendezvous in tests and benchmarks that run beside others. Plain POSIX: the
// engine's Qt-free tests use it too. 0 when no socket could be had.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace icmil::test {

inline int freeLoopbackPort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0
        && ::getsockname(fd, reinterpret_cast<sockaddr *>(&address), &length) == 0)
        port = ntohs(address.sin_port);
    if (fd >= 0)
        ::close(fd);
    return port;
}

} // namespace icmil::test
