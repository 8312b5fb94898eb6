// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/hdf5file.h"

#include "project/features/hdf5error.h"
#include "project/features/hdf5lock.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <system_error>

namespace icmil::project {

namespace {

// Row blocks of about 1 MiB: large enough for fast whole-dataset reads, small enough that an
// append by CLAM's or TRIDENT's h5py writer stays cheap.
constexpr std::uint64_t kChunkBytes = 1u << 20;

struct ErrorWalk {
    std::string innermost;
    bool truncated = false;
};

herr_t collectError(unsigned, const H5E_error2_t *error, void *data) noexcept
{
    try {
        auto *walk = static_cast<ErrorWalk *>(data);
        const std::string description = error->desc != nullptr ? error->desc : "";
        if (description.find("truncated file") != std::string::npos)
            walk->truncated = true;
        if (walk->innermost.empty())
            walk->innermost = description;
    } catch (...) { }
    return 0;
}

// Turns the calling thread's HDF5 error stack (from the call that just failed) into a cause a user
// can read, and clears it. `whatFailed` is used when HDF5 says nothing better.
std::string hdf5Cause(const std::string &whatFailed)
{
    ErrorWalk walk;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collectError, &walk);
    H5Eclear2(H5E_DEFAULT);
    if (walk.truncated)
        return "the file is truncated";
    // The POSIX driver reports "..., errno = 28, error message = 'No space left on device', ...".
    const std::string marker = "error message = '";
    if (const auto at = walk.innermost.find(marker); at != std::string::npos) {
        const auto start = at + marker.size();
        if (const auto end = walk.innermost.find('\'', start); end != std::string::npos)
            return walk.innermost.substr(start, end - start);
    }
    if (walk.innermost.empty())
        return whatFailed;
    return whatFailed + " (HDF5: " + walk.innermost + ")";
}

std::string describeClass(H5T_class_t typeClass)
{
    switch (typeClass) {
    case H5T_STRING: return "strings";
    case H5T_COMPOUND: return "compound records";
    case H5T_ENUM: return "enumerated values";
    case H5T_OPAQUE: return "opaque bytes";
    default: return "non-numeric values";
    }
}

Hdf5Handle accessProperties()
{
    Hdf5Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
    // Closing the file closes whatever is still open in it, so a failed write never pins the file.
    H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
#if H5_VERSION_GE(1, 12, 1) || (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7)
    // Our writes are atomic renames, so HDF5's flock() adds nothing, and it fails on many network
    // file systems ("unable to lock file").
    H5Pset_file_locking(fapl.get(), false, true);
#endif
    return fapl;
}

hid_t utf8StringType()
{
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    return type;
}

// A damaged file may declare far more values than it holds: refused before allocating them.
// Deflate compresses at most about 1032:1, so a dataset's values fit in 1032 times the bytes it
// stores in the file.
void checkDeclaredSize(hid_t dataset, hssize_t count, const std::string &name)
{
    const Hdf5Handle type(H5Dget_type(dataset));
    const std::size_t width = type.valid() ? H5Tget_size(type.get()) : 0;
    const long double declared = static_cast<long double>(std::max<hssize_t>(0, count)) * static_cast<long double>(width);
    if (declared > 1032.0L * static_cast<long double>(H5Dget_storage_size(dataset)) + 4096.0L)
        throw Hdf5Error("'" + name + "' declares " + std::to_string(count) + " values, more than the file holds (damaged file?)");
}

} // namespace

Hdf5File::Hdf5File(Hdf5Handle file) : m_file(std::move(file))
{ }

Hdf5File Hdf5File::openReadOnly(const std::filesystem::path &path)
{
    std::error_code error;
    if (!std::filesystem::exists(path, error))
        throw Hdf5Error("no such file");
    if (std::filesystem::is_directory(path, error))
        throw Hdf5Error("it is a folder, not a file");
    const Hdf5Lock lock;
    const Hdf5Handle fapl = accessProperties();
#if H5_VERSION_GE(1, 12, 0)
    const htri_t isHdf5 = H5Fis_accessible(path.c_str(), fapl.get());
#else
    const htri_t isHdf5 = H5Fis_hdf5(path.c_str());
#endif
    if (isHdf5 == 0)
        throw Hdf5Error("not an HDF5 file");
    if (isHdf5 < 0)
        throw Hdf5Error(hdf5Cause("HDF5 cannot open it"));
    Hdf5Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()));
    if (!file.valid())
        throw Hdf5Error(hdf5Cause("HDF5 cannot open it"));
    return Hdf5File(std::move(file));
}

Hdf5File Hdf5File::createInMemory(const std::string &label, std::uint64_t expectedBytes)
{
    // Core-driver files are told apart by name: make each one unique in the process.
    static std::atomic<std::uint64_t> serial{0};
    const std::string name = label + "#" + std::to_string(++serial);
    const Hdf5Lock lock;
    const Hdf5Handle fapl = accessProperties();
    const auto increment = static_cast<std::size_t>(std::clamp<std::uint64_t>(expectedBytes, 1u << 16, std::uint64_t{1} << 32));
    if (H5Pset_fapl_core(fapl.get(), increment, false) < 0)
        throw Hdf5Error(hdf5Cause("HDF5 cannot set up an in-memory file"));
    Hdf5Handle file(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()));
    if (!file.valid())
        throw Hdf5Error(hdf5Cause("HDF5 cannot create the file"));
    return Hdf5File(std::move(file));
}

std::string Hdf5File::takeImage()
{
    const Hdf5Lock lock;
    if (H5Fflush(m_file.get(), H5F_SCOPE_GLOBAL) < 0)
        throw Hdf5Error(hdf5Cause("HDF5 cannot finish the file"));
    const ssize_t size = H5Fget_file_image(m_file.get(), nullptr, 0);
    if (size < 0)
        throw Hdf5Error(hdf5Cause("HDF5 cannot finish the file"));
    std::string image(static_cast<std::size_t>(size), '\0');
    if (H5Fget_file_image(m_file.get(), image.data(), image.size()) != size)
        throw Hdf5Error(hdf5Cause("HDF5 cannot finish the file"));
    if (!m_file.close())
        throw Hdf5Error(hdf5Cause("HDF5 cannot finish the file"));
    return image;
}

bool Hdf5File::hasDataset(const std::string &name) const
{
    const Hdf5Lock lock;
    if (H5Lexists(m_file.get(), name.c_str(), H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
    }
    const Hdf5Handle object(H5Oopen(m_file.get(), name.c_str(), H5P_DEFAULT));
    return object.valid() && H5Iget_type(object.get()) == H5I_DATASET;
}

Hdf5Handle Hdf5File::openDataset(const std::string &name) const
{
    const Hdf5Lock lock;
    if (!hasDataset(name))
        throw Hdf5Error("no dataset '" + name + "'");
    Hdf5Handle dataset(H5Dopen2(m_file.get(), name.c_str(), H5P_DEFAULT));
    if (!dataset.valid())
        throw Hdf5Error(hdf5Cause("cannot open dataset '" + name + "'"));
    return dataset;
}

Hdf5Handle Hdf5File::openObject(const std::string &object) const
{
    const Hdf5Lock lock;
    if (object != "/" && H5Lexists(m_file.get(), object.c_str(), H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return Hdf5Handle();
    }
    return Hdf5Handle(H5Oopen(m_file.get(), object.c_str(), H5P_DEFAULT));
}

std::vector<std::int64_t> Hdf5File::shape(const std::string &name) const
{
    const Hdf5Lock lock;
    const Hdf5Handle dataset = openDataset(name);
    const Hdf5Handle space(H5Dget_space(dataset.get()));
    const int rank = space.valid() ? H5Sget_simple_extent_ndims(space.get()) : -1;
    if (rank < 0)
        throw Hdf5Error(hdf5Cause("cannot read the shape of '" + name + "'"));
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    return std::vector<std::int64_t>(dims.begin(), dims.end());
}

H5T_class_t Hdf5File::typeClass(const std::string &name) const
{
    const Hdf5Lock lock;
    const Hdf5Handle dataset = openDataset(name);
    const Hdf5Handle type(H5Dget_type(dataset.get()));
    return type.valid() ? H5Tget_class(type.get()) : H5T_NO_CLASS;
}

std::vector<float> Hdf5File::readFloats(const std::string &name) const
{
    const Hdf5Lock lock;
    const H5T_class_t valueClass = typeClass(name);
    if (valueClass != H5T_INTEGER && valueClass != H5T_FLOAT)
        throw Hdf5Error("'" + name + "' holds " + describeClass(valueClass) + ", not numbers");
    const Hdf5Handle dataset = openDataset(name);
    const Hdf5Handle space(H5Dget_space(dataset.get()));
    checkDeclaredSize(dataset.get(), H5Sget_simple_extent_npoints(space.get()), name);
    std::vector<float> values(static_cast<std::size_t>(std::max<hssize_t>(0, H5Sget_simple_extent_npoints(space.get()))));
    if (!values.empty() && H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
        throw Hdf5Error(hdf5Cause("cannot read '" + name + "'"));
    return values;
}

std::vector<std::int64_t> Hdf5File::readIntegers(const std::string &name) const
{
    const Hdf5Lock lock;
    const H5T_class_t valueClass = typeClass(name);
    if (valueClass != H5T_INTEGER && valueClass != H5T_FLOAT)
        throw Hdf5Error("'" + name + "' holds " + describeClass(valueClass) + ", not numbers");
    const Hdf5Handle dataset = openDataset(name);
    const Hdf5Handle space(H5Dget_space(dataset.get()));
    checkDeclaredSize(dataset.get(), H5Sget_simple_extent_npoints(space.get()), name);
    const auto count = static_cast<std::size_t>(std::max<hssize_t>(0, H5Sget_simple_extent_npoints(space.get())));
    std::vector<std::int64_t> values(count);
    if (count == 0)
        return values;
    if (valueClass == H5T_INTEGER) {
        if (H5Dread(dataset.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) < 0)
            throw Hdf5Error(hdf5Cause("cannot read '" + name + "'"));
        return values;
    }
    std::vector<double> real(count);
    if (H5Dread(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, real.data()) < 0)
        throw Hdf5Error(hdf5Cause("cannot read '" + name + "'"));
    for (std::size_t i = 0; i < count; ++i) {
        if (!std::isfinite(real[i]))
            throw Hdf5Error("'" + name + "' holds a value that is not a finite number");
        values[i] = std::llround(real[i]);
    }
    return values;
}

bool Hdf5File::hasAttribute(const std::string &object, const std::string &name) const
{
    const Hdf5Lock lock;
    const Hdf5Handle target = openObject(object);
    return target.valid() && H5Aexists(target.get(), name.c_str()) > 0;
}

std::optional<std::string> Hdf5File::stringAttribute(const std::string &object, const std::string &name) const
{
    const Hdf5Lock lock;
    if (!hasAttribute(object, name))
        return std::nullopt;
    const Hdf5Handle target = openObject(object);
    const Hdf5Handle attribute(H5Aopen(target.get(), name.c_str(), H5P_DEFAULT));
    const Hdf5Handle type(H5Aget_type(attribute.get()));
    const Hdf5Handle space(H5Aget_space(attribute.get()));
    if (!type.valid() || !space.valid() || H5Tget_class(type.get()) != H5T_STRING || H5Sget_simple_extent_npoints(space.get()) != 1)
        return std::nullopt;
    if (H5Tis_variable_str(type.get()) > 0) {
        const Hdf5Handle memoryType(utf8StringType());
        H5Tset_cset(memoryType.get(), H5Tget_cset(type.get()));
        char *value = nullptr;
        if (H5Aread(attribute.get(), memoryType.get(), &value) < 0) {
            H5Eclear2(H5E_DEFAULT);
            return std::nullopt;
        }
        std::string result = value != nullptr ? value : "";
        H5free_memory(value);
        return result;
    }
    const std::size_t size = H5Tget_size(type.get());
    std::vector<char> buffer(size + 1, '\0');
    if (H5Aread(attribute.get(), type.get(), buffer.data()) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    std::string result(buffer.data(), strnlen(buffer.data(), size));
    while (!result.empty() && result.back() == ' ') // space-padded fixed-length strings
        result.pop_back();
    return result;
}

std::optional<std::vector<double>> Hdf5File::numberAttribute(const std::string &object, const std::string &name) const
{
    const Hdf5Lock lock;
    if (!hasAttribute(object, name))
        return std::nullopt;
    const Hdf5Handle target = openObject(object);
    const Hdf5Handle attribute(H5Aopen(target.get(), name.c_str(), H5P_DEFAULT));
    const Hdf5Handle type(H5Aget_type(attribute.get()));
    const Hdf5Handle space(H5Aget_space(attribute.get()));
    if (!type.valid() || !space.valid())
        return std::nullopt;
    const H5T_class_t valueClass = H5Tget_class(type.get());
    const hssize_t count = H5Sget_simple_extent_npoints(space.get());
    if ((valueClass != H5T_INTEGER && valueClass != H5T_FLOAT) || count < 1)
        return std::nullopt;
    std::vector<double> values(static_cast<std::size_t>(count));
    if (H5Aread(attribute.get(), H5T_NATIVE_DOUBLE, values.data()) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    return values;
}

void Hdf5File::writeDataset(const std::string &name, const std::vector<std::int64_t> &shape, hid_t fileType, hid_t memoryType,
                            std::size_t valueSize, const void *data)
{
    const Hdf5Lock lock;
    const std::vector<hsize_t> dims(shape.begin(), shape.end());
    std::vector<hsize_t> maxDims = dims;
    maxDims[0] = H5S_UNLIMITED;
    std::uint64_t rowBytes = valueSize;
    for (std::size_t i = 1; i < dims.size(); ++i)
        rowBytes *= std::max<hsize_t>(dims[i], 1);
    std::vector<hsize_t> chunk = dims;
    for (hsize_t &extent : chunk)
        extent = std::max<hsize_t>(extent, 1);
    chunk[0] = std::clamp<hsize_t>(kChunkBytes / std::max<std::uint64_t>(rowBytes, 1), 1, std::max<hsize_t>(dims[0], 1));

    const Hdf5Handle space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxDims.data()));
    const Hdf5Handle creation(H5Pcreate(H5P_DATASET_CREATE));
    if (!space.valid() || !creation.valid() || H5Pset_chunk(creation.get(), static_cast<int>(chunk.size()), chunk.data()) < 0)
        throw Hdf5Error(hdf5Cause("cannot lay out '" + name + "'"));
    // No creation and modification times in the object header: the same data makes the same
    // bytes, so a resumed run's files are identical to an uninterrupted run's.
    if (H5Pset_obj_track_times(creation.get(), false) < 0)
        throw Hdf5Error(hdf5Cause("cannot lay out '" + name + "'"));
    Hdf5Handle dataset(H5Dcreate2(m_file.get(), name.c_str(), fileType, space.get(), H5P_DEFAULT, creation.get(), H5P_DEFAULT));
    if (!dataset.valid())
        throw Hdf5Error(hdf5Cause("cannot create '" + name + "'"));
    const bool empty = std::any_of(dims.begin(), dims.end(), [](hsize_t extent) { return extent == 0; });
    if (!empty && H5Dwrite(dataset.get(), memoryType, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
        throw Hdf5Error(hdf5Cause("cannot write '" + name + "'"));
    if (!dataset.close()) // flushes its chunk cache: failures may show up only here
        throw Hdf5Error(hdf5Cause("cannot write '" + name + "'"));
}

void Hdf5File::writeFloats(const std::string &name, const std::vector<std::int64_t> &shape, const float *data)
{
    const Hdf5Lock lock; // the type macros below are HDF5 calls too
    writeDataset(name, shape, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, sizeof(float), data);
}

void Hdf5File::writeIntegers(const std::string &name, const std::vector<std::int64_t> &shape, const std::int64_t *data)
{
    const Hdf5Lock lock; // the type macros below are HDF5 calls too
    writeDataset(name, shape, H5T_STD_I64LE, H5T_NATIVE_INT64, sizeof(std::int64_t), data);
}

void Hdf5File::writeAttribute(const std::string &object, const std::string &name, hid_t fileType, hid_t memoryType,
                              const std::vector<hsize_t> &dims, const void *data)
{
    const Hdf5Lock lock;
    const Hdf5Handle target = openObject(object);
    if (!target.valid())
        throw Hdf5Error("no object '" + object + "' to hold attribute '" + name + "'");
    if (H5Aexists(target.get(), name.c_str()) > 0)
        H5Adelete(target.get(), name.c_str());
    const Hdf5Handle space(dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
    const Hdf5Handle attribute(H5Acreate2(target.get(), name.c_str(), fileType, space.get(), H5P_DEFAULT, H5P_DEFAULT));
    if (!attribute.valid() || H5Awrite(attribute.get(), memoryType, data) < 0)
        throw Hdf5Error(hdf5Cause("cannot write attribute '" + name + "'"));
}

void Hdf5File::setStringAttribute(const std::string &object, const std::string &name, const std::string &value)
{
    const Hdf5Lock lock;
    const Hdf5Handle type(utf8StringType());
    const char *text = value.c_str();
    writeAttribute(object, name, type.get(), type.get(), {}, &text);
}

void Hdf5File::setIntegerAttribute(const std::string &object, const std::string &name, std::int64_t value)
{
    const Hdf5Lock lock; // the type macros below are HDF5 calls too
    writeAttribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &value);
}

void Hdf5File::setFloatAttribute(const std::string &object, const std::string &name, double value)
{
    const Hdf5Lock lock; // the type macros below are HDF5 calls too
    writeAttribute(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, &value);
}

void Hdf5File::setIntegerArrayAttribute(const std::string &object, const std::string &name, const std::vector<std::int64_t> &values)
{
    const Hdf5Lock lock; // the type macros below are HDF5 calls too
    writeAttribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {values.size()}, values.data());
}

void Hdf5File::setFloatArrayAttribute(const std::string &object, const std::string &name, const std::vector<double> &values)
{
    const Hdf5Lock lock; // the type macros below are HDF5 calls too
    writeAttribute(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {values.size()}, values.data());
}

} // namespace icmil::project
