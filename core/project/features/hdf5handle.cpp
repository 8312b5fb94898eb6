// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/hdf5handle.h"

#include "project/features/hdf5lock.h"

#include <utility>

namespace icmil::project {

Hdf5Handle::Hdf5Handle(hid_t id) : m_id(id < 0 ? H5I_INVALID_HID : id)
{ }

Hdf5Handle::~Hdf5Handle()
{
    close();
}

Hdf5Handle::Hdf5Handle(Hdf5Handle &&other) noexcept : m_id(std::exchange(other.m_id, H5I_INVALID_HID))
{ }

Hdf5Handle &Hdf5Handle::operator=(Hdf5Handle &&other) noexcept
{
    if (this != &other) {
        close();
        m_id = std::exchange(other.m_id, H5I_INVALID_HID);
    }
    return *this;
}

bool Hdf5Handle::close()
{
    if (m_id < 0)
        return true;
    const Hdf5Lock lock;
    const hid_t id = std::exchange(m_id, H5I_INVALID_HID);
    herr_t status = -1;
    switch (H5Iget_type(id)) {
    case H5I_FILE: status = H5Fclose(id); break;
    case H5I_GROUP: status = H5Gclose(id); break;
    case H5I_DATASET: status = H5Dclose(id); break;
    case H5I_DATASPACE: status = H5Sclose(id); break;
    case H5I_DATATYPE: status = H5Tclose(id); break;
    case H5I_ATTR: status = H5Aclose(id); break;
    case H5I_GENPROP_LST: status = H5Pclose(id); break;
    default: status = H5Idec_ref(id) < 0 ? -1 : 0; break;
    }
    return status >= 0;
}

} // namespace icmil::project
