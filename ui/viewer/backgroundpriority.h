// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

namespace icmil::ui {

// Lowers the calling thread's CPU priority (Linux nice +10; elsewhere a no-op) so background
// tile reading and frame filtering yield to the GUI thread: on a 2-core machine the view must
// stay smooth while tiles decode. Idempotent; call at the start of worker code.
void lowerCurrentThreadPriority();

} // namespace icmil::ui
