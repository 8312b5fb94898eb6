// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/backgroundpriority.h"

#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace icmil::ui {

namespace {
constexpr int kBackgroundNice = 10;
}

void lowerCurrentThreadPriority()
{
#ifdef __linux__
    // On Linux, nice values apply per thread (a thread id is a process id for setpriority).
    thread_local bool lowered = false;
    if (!lowered) {
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), kBackgroundNice);
        lowered = true;
    }
#endif
}

} // namespace icmil::ui
