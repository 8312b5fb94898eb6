// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// <qcustomplot.h> under the build's QT_NO_KEYWORDS: Debian's QCustomPlot 2 header writes
// `signals:`, `slots`, `emit` and `foreach`, which that define removes. They are mapped to the
// Q_ macros for this header only and removed again, so nothing included later (LibTorch's
// headers use `slots` as a name) sees them. Include this instead of <qcustomplot.h>.

#if defined(signals) || defined(slots) || defined(emit) || defined(foreach)
#error "qcustomplotinclude.h: Qt keywords are already defined; include it before anything that defines them"
#endif

#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach
