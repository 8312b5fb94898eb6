// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/features/hdf5handle.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

// One open HDF5 file, through the C API, with just what the feature store needs: whole datasets
// of numbers and scalar/1-D attributes on the root ("/") or on a dataset. Every call holds the
// process-wide Hdf5Lock. Failures throw Hdf5Error whose message is the cause only.
//
// Datasets are written the way CLAM's and TRIDENT's h5py writers make them: chunked, with an
// unlimited first dimension, so their `save_hdf5(..., mode='a')` can append rows to our files.
// Strings are variable-length UTF-8 scalars, as h5py writes a Python str.
class Hdf5File {
public:
    // Opens an existing file read-only. Causes: "no such file", "not an HDF5 file",
    // "the file is truncated", or HDF5's own words for anything else.
    static Hdf5File openReadOnly(const std::filesystem::path &path);
    // Creates a new file in memory (HDF5's core driver, nothing on disk) for writing; `label` names
    // it in messages, `expectedBytes` sizes its first allocation. Take the bytes with takeImage().
    //
    // Why in memory: HDF5 1.10 (Debian 12) cannot survive a failed H5Fclose. After a write error
    // (disk full, quota) the close fails, leaves a half-destroyed file id behind, and the library
    // crashes when it cleans up at process exit. So HDF5 never writes to disk for us; the finished
    // image is written by our own code, which reports errno like every other atomic write.
    static Hdf5File createInMemory(const std::string &label, std::uint64_t expectedBytes);

    Hdf5File(Hdf5File &&) noexcept = default;
    Hdf5File &operator=(Hdf5File &&) noexcept = default;
    ~Hdf5File() = default;

    // For a file made by createInMemory: flushes it, returns its complete bytes and closes it.
    std::string takeImage();

    bool hasDataset(const std::string &name) const;
    // Dimensions of dataset `name` (which must exist).
    std::vector<std::int64_t> shape(const std::string &name) const;
    // HDF5's type class of dataset `name`'s values (H5T_INTEGER, H5T_FLOAT, H5T_STRING, ...).
    H5T_class_t typeClass(const std::string &name) const;
    // All values of a numeric dataset, row-major, converted by HDF5 (float16/64 -> float32).
    std::vector<float> readFloats(const std::string &name) const;
    // All values of a numeric dataset, row-major; floating-point values are rounded.
    std::vector<std::int64_t> readIntegers(const std::string &name) const;

    bool hasAttribute(const std::string &object, const std::string &name) const;
    // A string attribute (variable- or fixed-length, scalar or one element); nullopt when missing
    // or not a string.
    std::optional<std::string> stringAttribute(const std::string &object, const std::string &name) const;
    // A numeric attribute (integer or float, scalar or 1-D) as doubles; nullopt when missing or not
    // numeric (h5py writes None-like values as the string 'None').
    std::optional<std::vector<double>> numberAttribute(const std::string &object, const std::string &name) const;

    // Writes a new float32 / int64 dataset of `shape` (row-major `data`, product(shape) values).
    void writeFloats(const std::string &name, const std::vector<std::int64_t> &shape, const float *data);
    void writeIntegers(const std::string &name, const std::vector<std::int64_t> &shape, const std::int64_t *data);

    void setStringAttribute(const std::string &object, const std::string &name, const std::string &value);
    void setIntegerAttribute(const std::string &object, const std::string &name, std::int64_t value);
    void setFloatAttribute(const std::string &object, const std::string &name, double value);
    void setIntegerArrayAttribute(const std::string &object, const std::string &name, const std::vector<std::int64_t> &values);
    void setFloatArrayAttribute(const std::string &object, const std::string &name, const std::vector<double> &values);

private:
    explicit Hdf5File(Hdf5Handle file);
    Hdf5Handle openDataset(const std::string &name) const;
    Hdf5Handle openObject(const std::string &object) const;
    void writeDataset(const std::string &name, const std::vector<std::int64_t> &shape, hid_t fileType, hid_t memoryType,
                      std::size_t valueSize, const void *data);
    void writeAttribute(const std::string &object, const std::string &name, hid_t fileType, hid_t memoryType,
                        const std::vector<hsize_t> &dims, const void *data);

    Hdf5Handle m_file;
};

} // namespace icmil::project
