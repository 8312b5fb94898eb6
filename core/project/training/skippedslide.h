// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// A slide a prediction went on without, and why: plain, no LibTorch (the app reports them).

#include <string>

namespace icmil::project {

// A slide a prediction went on without, and why (one sentence).
struct SkippedSlide {
    std::string slideId;
    std::string reason;
};

} // namespace icmil::project
