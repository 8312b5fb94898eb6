// SPDX-License-Identifier: GPL-3.0-or-later
#include "interruptguard.h"

#include "common/partialfile.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

namespace icmil::cli {

namespace {

std::atomic_int g_writeEnd{-1};
std::atomic_int g_signalsSeen{0};
std::atomic_int g_firstSignal{0};
struct sigaction g_previousInt;
struct sigaction g_previousTerm;

extern "C" void onStopSignal(int signalNumber)
{
    if (g_signalsSeen.fetch_add(1) > 0) { // the second one: stop now
        std::signal(signalNumber, SIG_DFL);
        std::raise(signalNumber);
        return;
    }
    g_firstSignal.store(signalNumber);
    const int saved = errno;
    const char byte = 1;
    [[maybe_unused]] const ssize_t written = ::write(g_writeEnd.load(), &byte, 1);
    errno = saved;
}

// The job did not return in time: end the process now (see InterruptGuard).
[[noreturn]] void stopNow(const std::string &line)
{
    abandonPartialFiles();
    const std::string text = (::isatty(STDERR_FILENO) != 0 ? "\n" : "") + line + "\n"; // ends a progress bar's line
    [[maybe_unused]] const ssize_t written = ::write(STDOUT_FILENO, text.data(), text.size());
    std::_Exit(130);
}

} // namespace

InterruptGuard::InterruptGuard(std::function<void()> cancel, std::string stopLine)
    : m_cancel(std::move(cancel)), m_stopLine(std::move(stopLine))
{
    if (g_writeEnd.load() >= 0)
        throw std::logic_error("InterruptGuard: one guard at a time");
    if (::pipe2(m_pipe, O_CLOEXEC) != 0)
        throw std::runtime_error(std::string("Cannot watch for Ctrl-C: ") + std::strerror(errno));
    g_signalsSeen = 0;
    g_firstSignal = 0;
    g_writeEnd = m_pipe[1];
    m_waiter = std::thread([this] {
        char byte = 0;
        ssize_t got = 0;
        do
            got = ::read(m_pipe[0], &byte, 1);
        while (got < 0 && errno == EINTR);
        if (got != 1 || byte != 1)
            return;
        m_cancel();
        if (m_stopLine.empty())
            return;
        std::unique_lock lock(m_mutex);
        if (!m_returned.wait_for(lock, kGrace, [this] { return m_done; }))
            stopNow(m_stopLine);
    });
    struct sigaction action { };
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, &g_previousInt);
    ::sigaction(SIGTERM, &action, &g_previousTerm);
}

InterruptGuard::~InterruptGuard()
{
    ::sigaction(SIGINT, &g_previousInt, nullptr);
    ::sigaction(SIGTERM, &g_previousTerm, nullptr);
    {
        const std::lock_guard lock(m_mutex);
        m_done = true;
    }
    m_returned.notify_all();
    // Wakes the waiter if no signal did (a 0 byte means "done, nothing to cancel").
    const char done = 0;
    [[maybe_unused]] const ssize_t written = ::write(m_pipe[1], &done, 1);
    m_waiter.join();
    g_writeEnd = -1;
    ::close(m_pipe[0]);
    ::close(m_pipe[1]);
}

int InterruptGuard::signal() const
{
    return g_firstSignal.load();
}

} // namespace icmil::cli
