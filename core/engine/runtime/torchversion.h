// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The one switch for code that differs between LibTorch versions (Debian's 1.13 here, a current
// 2.x on GPU servers). Use it in #if only, and keep each difference next to the one function that
// needs it (autocastscope.cpp holds the autocast API split at 2.4).

#include <torch/version.h>

// True when the LibTorch headers being compiled against are version major.minor or newer.
#define ICMIL_TORCH_AT_LEAST(major, minor)                                                                                                 \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))
