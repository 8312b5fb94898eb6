// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

namespace icmil::ui {

// Makes evicted tiles give their memory back to the operating system. A decoded tile is a
// 256 KiB buffer; glibc serves such blocks with mmap only until the first one is freed, then
// raises its threshold and serves them from heap arenas, where the cache's churn (allocated on
// loader threads, freed on the GUI thread) fragments memory and the process grows well past the
// cache budget (measured: peak RSS 804 MiB for a 512 MiB budget; with this, 656 MiB).
// Fixes the mmap threshold at 128 KiB, once per process; a no-op on other C libraries.
void keepTileMemoryReturnable();

} // namespace icmil::ui
