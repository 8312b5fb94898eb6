// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace icmil::cli {

// Progress of a long phase. On a terminal: a one-line bar on stderr, redrawn at most every
// 100 ms. Otherwise (a log file, nohup, a batch job): a flushed line on stdout every few seconds,
// "progress: 3/10 34% <detail>", so a log shows where a run was even after kill -9. The interval
// is ICMIL_PROGRESS_SECONDS (default 5; 0: every update).
class ProgressBar {
public:
    // `fraction` of item `index` (0-based) of `count` is done; `detail` follows the bar.
    void update(int index, int count, double fraction, const std::string &detail = {})
    {
        const auto now = std::chrono::steady_clock::now();
        const auto interval = m_tty ? std::chrono::milliseconds(100) : m_logInterval;
        // A terminal also redraws a finished item at once; a log waits for the interval.
        if (m_drawn && now - m_last < interval && (fraction < 1.0 || !m_tty))
            return;
        m_last = now;
        m_drawn = true;
        const double overall = std::clamp((index + fraction) / std::max(1, count), 0.0, 1.0);
        const int done = std::min(index + 1, count);
        const int percent = static_cast<int>(overall * 100.0);
        if (!m_tty) {
            std::fprintf(stdout, "progress: %d/%d %3d%% %s\n", done, count, percent, detail.c_str());
            std::fflush(stdout);
            return;
        }
        const int filled = static_cast<int>(overall * 30.0);
        m_lineOpen = true;
        std::fprintf(stderr, "\r[%-30s] %d/%d %3d%% %-40s", std::string(static_cast<std::size_t>(filled), '#').c_str(), done, count,
                     percent, detail.c_str());
        std::fflush(stderr);
    }
    // Clears the bar's line (on a terminal); also when an error unwinds past the bar, so the
    // error line does not land behind it.
    void finish()
    {
        if (m_tty && m_lineOpen)
            std::fprintf(stderr, "\r%90s\r", "");
        m_lineOpen = false;
    }
    ~ProgressBar() { finish(); }

private:
    static std::chrono::milliseconds logInterval()
    {
        const char *text = std::getenv("ICMIL_PROGRESS_SECONDS");
        const double seconds = text ? std::atof(text) : 5.0;
        return std::chrono::milliseconds(static_cast<long long>(std::max(0.0, seconds) * 1000.0));
    }

    bool m_tty = ::isatty(STDERR_FILENO) != 0;
    std::chrono::milliseconds m_logInterval = logInterval();
    bool m_drawn = false;
    bool m_lineOpen = false; // a bar is on the terminal line
    std::chrono::steady_clock::time_point m_last{};
};

} // namespace icmil::cli
