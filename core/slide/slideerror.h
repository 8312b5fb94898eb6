// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <stdexcept>
#include <string>

namespace icmil::slide {

// The one error type the slide layer throws. what() is a complete, human sentence that names
// the file and the cause; callers show it as is.
class SlideError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace icmil::slide
