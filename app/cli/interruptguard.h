// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace icmil::cli {

// The CLI's one Ctrl-C design (docs/ARCHITECTURE.md, "Long jobs"). While a guard lives, the first
// SIGINT or SIGTERM calls `cancel` (the running job's thread-safe cancel(): it stops between
// batches and keeps what it has); a second one ends the process with the signal's default action.
// The handler only writes a byte to a pipe (all a handler may safely do); a thread blocked on the
// pipe's other end calls `cancel`, so nothing polls. The destructor restores the previous handlers
// and joins that thread. One guard at a time.
//
// With a `stopLine`, the process stops within a second of the signal even when the job cannot:
// a job that has not returned kGrace after `cancel` (a batch of a large embedder on a CPU takes
// many seconds) is not waited for. The process removes its partial files, prints `stopLine` and
// exits with status 130, leaving what a SIGKILL at that moment would leave. Only for jobs that a
// kill at any moment leaves resumable: the ICMIL loop (docs/ARCHITECTURE.md, "Files").
class InterruptGuard {
public:
    static constexpr std::chrono::milliseconds kGrace{400};

    explicit InterruptGuard(std::function<void()> cancel, std::string stopLine = {});
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard &) = delete;
    InterruptGuard &operator=(const InterruptGuard &) = delete;

    // The signal that asked the job to stop (SIGINT, SIGTERM), 0 if none did.
    int signal() const;

private:
    std::function<void()> m_cancel;
    std::string m_stopLine;
    int m_pipe[2] = {-1, -1};
    std::mutex m_mutex;
    std::condition_variable m_returned;
    bool m_done = false; // the job returned: the destructor runs
    std::thread m_waiter;
};

} // namespace icmil::cli
