// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <stdexcept>

namespace icmil::project {

// A failure inside the HDF5 layer (Hdf5File). what() is the cause only, in words a user can act on
// ("no dataset 'features'", "the file is truncated", "No space left on device"); the caller adds
// which file and what it was doing, and rethrows it as a ProjectError.
class Hdf5Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

} // namespace icmil::project
