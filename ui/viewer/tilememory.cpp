// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/viewer/tilememory.h"

#include <mutex>

#ifdef __GLIBC__
#include <malloc.h>
#endif

namespace icmil::ui {

void keepTileMemoryReturnable()
{
#ifdef __GLIBC__
    static std::once_flag once;
    std::call_once(once, [] { mallopt(M_MMAP_THRESHOLD, 128 * 1024); });
#endif
}

} // namespace icmil::ui
