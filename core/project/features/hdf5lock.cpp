// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/hdf5lock.h"

#include <hdf5.h>

namespace icmil::project {

namespace {

std::recursive_mutex &hdf5Mutex()
{
    static std::recursive_mutex mutex;
    return mutex;
}

} // namespace

Hdf5Lock::Hdf5Lock() : m_lock(hdf5Mutex())
{
    // Cheap, and needed per thread: thread-safe HDF5 keeps one error stack (and its printer) per
    // thread. H5open() is implied by the first API call.
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

} // namespace icmil::project
