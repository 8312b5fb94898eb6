// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <functional>
#include <thread>

namespace icmil::cli {

// The CLI's one Ctrl-C design (docs/ARCHITECTURE.md, "Long jobs"). While a guard lives, the first
// SIGINT or SIGTERM calls `cancel` (the running job's thread-safe cancel(): it stops between
// batches and keeps what it has); a second one ends the process with the signal's default action.
// The handler only writes a byte to a pipe (all a handler may safely do); a thread blocked on the
// pipe's other end calls `cancel`, so nothing polls. The destructor restores the previous handlers
// and joins that thread. One guard at a time.
class InterruptGuard {
public:
    explicit InterruptGuard(std::function<void()> cancel);
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard &) = delete;
    InterruptGuard &operator=(const InterruptGuard &) = delete;

    // The signal that asked the job to stop (SIGINT, SIGTERM), 0 if none did.
    int signal() const;

private:
    std::function<void()> m_cancel;
    int m_pipe[2] = {-1, -1};
    std::thread m_waiter;
};

} // namespace icmil::cli
