// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <hdf5.h>

namespace icmil::project {

// Owns one HDF5 identifier (file, group, dataset, dataspace, datatype, attribute, property list)
// and closes it with the matching H5?close when it goes away. Takes the Hdf5Lock while closing.
class Hdf5Handle {
public:
    Hdf5Handle() = default;
    // Takes ownership of `id`; a negative id (a failed HDF5 call) makes an invalid handle.
    explicit Hdf5Handle(hid_t id);
    ~Hdf5Handle();
    Hdf5Handle(Hdf5Handle &&other) noexcept;
    Hdf5Handle &operator=(Hdf5Handle &&other) noexcept;
    Hdf5Handle(const Hdf5Handle &) = delete;
    Hdf5Handle &operator=(const Hdf5Handle &) = delete;

    hid_t get() const { return m_id; }
    bool valid() const { return m_id >= 0; }
    // Closes now; returns false if HDF5 reported a failure (for files: data not written).
    bool close();

private:
    hid_t m_id = H5I_INVALID_HID;
};

} // namespace icmil::project
