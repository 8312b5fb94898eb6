// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <mutex>

namespace icmil::project {

// Every call into the HDF5 library, in the whole process, happens while an Hdf5Lock is alive.
//
// Why: HDF5's thread safety is a build option. Debian 12's serial libhdf5 1.10.8 happens to define
// H5_HAVE_THREADSAFE (one global lock inside the C API), but its C++ API is not thread-safe, other
// builds (source, conda, vendor) often are not, and a sequence of calls (call, then read the error
// stack) must not interleave with another thread's. The project layer calls HDF5 from worker
// threads (extraction, imports) while the GUI reads feature files, so it serializes every call
// itself with one recursive mutex: nested Hdf5Locks on one thread are fine. Hold it briefly (one
// call or one short sequence), never across user callbacks.
//
// Constructing a lock also turns off HDF5's automatic error-stack printing for the calling thread
// (H5Eset_auto; per thread in thread-safe builds), so HDF5 failures never spill onto stderr and
// reach callers only as our exceptions (see Hdf5File).
class Hdf5Lock {
public:
    Hdf5Lock();
    ~Hdf5Lock() = default;
    Hdf5Lock(const Hdf5Lock &) = delete;
    Hdf5Lock &operator=(const Hdf5Lock &) = delete;

private:
    std::unique_lock<std::recursive_mutex> m_lock;
};

} // namespace icmil::project
