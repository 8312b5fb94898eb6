#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

namespace icmil::cli {

// A one-line progress bar on stderr, redrawn at most every 100 ms, only on a terminal.
class ProgressBar {
public:
    // `fraction` of item `index` (0-based) of `count` is done; `detail` follows the bar.
    void update(int index, int count, double fraction, const std::string &detail = {})
    {
        if (!m_tty)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (fraction < 1.0 && now - m_last < std::chrono::milliseconds(100))
            return;
        m_last = now;
        const double overall = std::clamp((index + fraction) / std::max(1, count), 0.0, 1.0);
        const int filled = static_cast<int>(overall * 30.0);
        std::fprintf(stderr, "\r[%-30s] %d/%d %3d%% %-40s", std::string(static_cast<std::size_t>(filled), '#').c_str(),
                     std::min(index + 1, count), count, static_cast<int>(overall * 100.0), detail.c_str());
        std::fflush(stderr);
    }
    void finish()
    {
        if (m_tty)
            std::fprintf(stderr, "\r%90s\r", "");
    }

private:
    bool m_tty = ::isatty(STDERR_FILENO) != 0;
    std::chrono::steady_clock::time_point m_last{};
};

} // namespace icmil::cli
