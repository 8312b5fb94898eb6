// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Feature files as CLAM and TRIDENT write them, made with the plain HDF5 C API (what h5py does
// underneath), so the tests do not depend on Python. Header-only; link hdf5::hdf5.
//
// CLAM  extract_features_fp.py -> h5_files/<slide>.h5: features float32 N x D (chunks 32 x D,
//       maxshape None x D), coords int32 N x 2, no attributes (utils/file_utils.py save_hdf5).
//       create_patches_fp.py -> patches/<slide>.h5: coords int64 N x 2 with attributes
//       patch_size, patch_level, downsample, downsampled_level_dim, level_dim, name, save_path
//       (wsi_core/WholeSlideImage.py process_contour).
// TRIDENT extract_patch_features -> features_<enc>/<slide>.h5: features N x D in the encoder's
//       dtype (float32, or float16 under autocast), chunks 1 x D; coords int64 N x 2 with the
//       patching attributes; features attributes name, savetodir, encoder (trident/IO.py save_h5,
//       coords_to_h5; trident/wsi_objects/WSI.py).

#include <hdf5.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace icmil::test {

// Row i, column j of every fixture's features: exact in float16 and float32 for small i, j.
inline float fixtureFeature(std::int64_t row, std::int64_t column)
{
    return static_cast<float>(row % 64) * 0.5f - static_cast<float>(column % 32) * 0.125f;
}

inline std::array<std::int64_t, 2> fixtureCoord(std::int64_t row)
{
    return {256 * (row % 7), 512 * (row / 7)};
}

// A minimal raw HDF5 writer, like h5py's create_dataset / attrs.
class RawH5File {
public:
    explicit RawH5File(const std::filesystem::path &path) : m_file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) { }
    ~RawH5File() { H5Fclose(m_file); }
    RawH5File(const RawH5File &) = delete;
    RawH5File &operator=(const RawH5File &) = delete;

    bool ok() const { return m_file >= 0; }

    void dataset(const std::string &name, hid_t fileType, hid_t memoryType, std::vector<hsize_t> dims, const void *data, hsize_t chunkRows)
    {
        std::vector<hsize_t> maxDims = dims;
        maxDims[0] = H5S_UNLIMITED;
        std::vector<hsize_t> chunk = dims;
        for (hsize_t &extent : chunk)
            extent = extent == 0 ? 1 : extent;
        chunk[0] = chunkRows;
        const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxDims.data());
        const hid_t creation = H5Pcreate(H5P_DATASET_CREATE);
        H5Pset_chunk(creation, static_cast<int>(chunk.size()), chunk.data());
        const hid_t set = H5Dcreate2(m_file, name.c_str(), fileType, space, H5P_DEFAULT, creation, H5P_DEFAULT);
        if (data != nullptr)
            H5Dwrite(set, memoryType, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
        H5Dclose(set);
        H5Pclose(creation);
        H5Sclose(space);
    }

    void attribute(const std::string &object, const std::string &name, hid_t fileType, hid_t memoryType, std::vector<hsize_t> dims,
                   const void *data)
    {
        const hid_t target = H5Oopen(m_file, object.c_str(), H5P_DEFAULT);
        const hid_t space = dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims.data(), nullptr);
        const hid_t attr = H5Acreate2(target, name.c_str(), fileType, space, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(attr, memoryType, data);
        H5Aclose(attr);
        H5Sclose(space);
        H5Oclose(target);
    }
    void integer(const std::string &object, const std::string &name, std::int64_t value)
    {
        attribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {}, &value);
    }
    void real(const std::string &object, const std::string &name, double value)
    {
        attribute(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {}, &value);
    }
    void integers(const std::string &object, const std::string &name, std::vector<std::int64_t> values)
    {
        attribute(object, name, H5T_STD_I64LE, H5T_NATIVE_INT64, {values.size()}, values.data());
    }
    void reals(const std::string &object, const std::string &name, std::vector<double> values)
    {
        attribute(object, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, {values.size()}, values.data());
    }
    // A Python str, as h5py stores it: variable-length UTF-8.
    void text(const std::string &object, const std::string &name, const std::string &value)
    {
        const hid_t type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, H5T_VARIABLE);
        H5Tset_cset(type, H5T_CSET_UTF8);
        const char *data = value.c_str();
        attribute(object, name, type, type, {}, &data);
        H5Tclose(type);
    }

    hid_t id() const { return m_file; }

private:
    hid_t m_file;
};

inline std::vector<float> fixtureFeatures(std::int64_t count, std::int64_t dim)
{
    std::vector<float> values(static_cast<std::size_t>(count * dim));
    for (std::int64_t i = 0; i < count; ++i)
        for (std::int64_t j = 0; j < dim; ++j)
            values[static_cast<std::size_t>(i * dim + j)] = fixtureFeature(i, j);
    return values;
}

template <typename T> std::vector<T> fixtureCoords(std::int64_t count)
{
    std::vector<T> values;
    for (std::int64_t i = 0; i < count; ++i) {
        const auto [x, y] = fixtureCoord(i);
        values.push_back(static_cast<T>(x));
        values.push_back(static_cast<T>(y));
    }
    return values;
}

// The attributes CLAM's create_patches_fp.py puts on `coords` (level 0, 256 px patches).
inline void addClamCoordsAttributes(RawH5File &file, const std::string &slide)
{
    file.integer("coords", "patch_size", 256);
    file.integer("coords", "patch_level", 0);
    file.reals("coords", "downsample", {1.0, 1.0});
    file.integers("coords", "downsampled_level_dim", {46000, 32914});
    file.integers("coords", "level_dim", {46000, 32914});
    file.text("coords", "name", slide);
    file.text("coords", "save_path", "/data/RESULTS_DIRECTORY/patches");
}

// CLAM extract_features_fp.py: float32 features, int32 coords, no attributes.
inline bool writeClamFeatureFile(const std::filesystem::path &path, std::int64_t count, std::int64_t dim)
{
    RawH5File file(path);
    const std::vector<float> features = fixtureFeatures(count, dim);
    const std::vector<std::int32_t> coords = fixtureCoords<std::int32_t>(count);
    file.dataset("features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {hsize_t(count), hsize_t(dim)}, features.data(), 32);
    file.dataset("coords", H5T_STD_I32LE, H5T_NATIVE_INT32, {hsize_t(count), 2}, coords.data(), 32);
    return file.ok();
}

// TRIDENT's patching attributes on `coords` (20x from a 40x slide, 256 px, no overlap).
inline void addTridentCoordsAttributes(RawH5File &file, const std::string &slide)
{
    file.integer("coords", "patch_size", 256);
    file.integer("coords", "patch_size_level0", 512);
    file.integer("coords", "level0_magnification", 40);
    file.integer("coords", "target_magnification", 20);
    file.integer("coords", "overlap", 0);
    file.text("coords", "name", slide);
    file.text("coords", "savetodir", "/jobs/run1/20x_256px_0px_overlap");
    file.integer("coords", "level0_width", 46000);
    file.integer("coords", "level0_height", 32914);
}

// TRIDENT extract_patch_features. `float16` mimics an encoder run under float16 autocast (h5py's
// float16 type); `batchOfOne` stores 1 x N x D features and 1 x N x 2 int32 coords, as other tools
// built on TRIDENT's batch dict do.
inline bool writeTridentFeatureFile(const std::filesystem::path &path, const std::string &slide, std::int64_t count, std::int64_t dim,
                                    const std::string &encoder, bool float16 = false, bool batchOfOne = false)
{
    RawH5File file(path);
    const std::vector<float> features = fixtureFeatures(count, dim);
    hid_t featureType = H5Tcopy(H5T_IEEE_F32LE);
    if (float16) { // numpy float16 as h5py declares it
        H5Tset_fields(featureType, 15, 10, 5, 0, 10);
        H5Tset_size(featureType, 2);
        H5Tset_ebias(featureType, 15);
    }
    if (batchOfOne) {
        const std::vector<std::int32_t> coords = fixtureCoords<std::int32_t>(count);
        file.dataset("features", featureType, H5T_NATIVE_FLOAT, {1, hsize_t(count), hsize_t(dim)}, features.data(), 1);
        file.dataset("coords", H5T_STD_I32LE, H5T_NATIVE_INT32, {1, hsize_t(count), 2}, coords.data(), 1);
    } else {
        const std::vector<std::int64_t> coords = fixtureCoords<std::int64_t>(count);
        file.dataset("features", featureType, H5T_NATIVE_FLOAT, {hsize_t(count), hsize_t(dim)}, features.data(), 1);
        file.dataset("coords", H5T_STD_I64LE, H5T_NATIVE_INT64, {hsize_t(count), 2}, coords.data(), 1);
    }
    H5Tclose(featureType);
    addTridentCoordsAttributes(file, slide);
    file.text("features", "name", slide);
    file.text("features", "savetodir", "/jobs/run1/20x_256px_0px_overlap/features_" + encoder);
    file.text("features", "encoder", encoder);
    return file.ok();
}

} // namespace icmil::test
