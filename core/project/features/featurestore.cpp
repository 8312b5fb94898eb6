// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/featurestore.h"

#include "project/atomicfile.h"
#include "project/features/hdf5error.h"
#include "project/features/hdf5atomicwrite.h"
#include "project/features/hdf5file.h"
#include "project/features/patchattributecodec.h"
#include "project/projecterror.h"
#include "project/features/slidetiler.h"
#include "common/partialfile.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <new>
#include <stdexcept>
#include <system_error>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

const std::string kFeatures = "features";
const std::string kCoords = "coords";

std::string shapeText(const std::vector<std::int64_t> &dims)
{
    std::string text;
    for (const std::int64_t extent : dims)
        text += (text.empty() ? "" : "x") + std::to_string(extent);
    return text.empty() ? "a single value" : text;
}

std::string saveDirectoryOf(const fs::path &path)
{
    std::error_code error;
    const fs::path absolute = fs::absolute(path, error);
    return (error ? path : absolute).parent_path().string();
}

void requireNumbers(const Hdf5File &file, const std::string &name)
{
    const H5T_class_t valueClass = file.typeClass(name);
    if (valueClass == H5T_STRING)
        throw Hdf5Error("'" + name + "' holds strings, not numbers");
    if (valueClass != H5T_INTEGER && valueClass != H5T_FLOAT)
        throw Hdf5Error("'" + name + "' does not hold plain numbers");
}

void requireReadableVersion(const Hdf5File &file)
{
    const std::int64_t version = patchattributecodec::formatVersion(file);
    if (version > patchattributecodec::kFormatVersion)
        throw Hdf5Error("it was written by a newer ICMIL Studio (file format " + std::to_string(version) + "; this one reads up to "
                        + std::to_string(patchattributecodec::kFormatVersion) + ")");
}

// Rows of `coords`: N x 2, or 1 x N x 2 (a batch of one), or an empty vector (TRIDENT, no tissue).
std::int64_t coordsRows(const Hdf5File &file)
{
    if (!file.hasDataset(kCoords))
        throw Hdf5Error("no dataset 'coords'");
    requireNumbers(file, kCoords);
    const std::vector<std::int64_t> dims = file.shape(kCoords);
    if (dims.size() == 2 && dims[1] == 2)
        return dims[0];
    if (dims.size() == 3 && dims[0] == 1 && dims[2] == 2)
        return dims[1];
    if (dims.size() == 1 && dims[0] == 0)
        return 0;
    throw Hdf5Error("'coords' has shape " + shapeText(dims) + "; expected N x 2");
}

FeatureFileSummary summarize(const Hdf5File &file, const fs::path &path)
{
    requireReadableVersion(file);
    if (!file.hasDataset(kFeatures))
        throw Hdf5Error("no dataset 'features'");
    requireNumbers(file, kFeatures);
    const std::vector<std::int64_t> dims = file.shape(kFeatures);
    FeatureFileSummary summary;
    if (dims.size() == 2) {
        summary.count = dims[0];
        summary.dim = dims[1];
    } else if (dims.size() == 3 && dims[0] == 1) {
        summary.count = dims[1];
        summary.dim = dims[2];
    } else if (dims.size() == 1 && dims[0] > 0) {
        throw Hdf5Error("'features' is a single vector of " + std::to_string(dims[0])
                        + " values (a slide embedding?), not one row per patch");
    } else if (!(dims.size() == 1 && dims[0] == 0)) {
        throw Hdf5Error("'features' has shape " + shapeText(dims) + "; expected N x D or 1 x N x D");
    }
    if (summary.count > 0 && summary.dim == 0)
        throw Hdf5Error("'features' has " + std::to_string(summary.count) + " rows of no values");
    const std::int64_t rows = coordsRows(file);
    if (rows != summary.count)
        throw Hdf5Error("'features' has " + std::to_string(summary.count) + " rows but 'coords' has " + std::to_string(rows));
    summary.attributes = patchattributecodec::read(file);
    summary.slideId = patchattributecodec::slideName(file);
    if (summary.slideId.empty())
        summary.slideId = path.stem().string();
    return summary;
}

std::string patchFileStem(const fs::path &path)
{
    std::string stem = path.stem().string();
    const std::string suffix = "_patches";
    if (stem.size() > suffix.size() && stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0)
        stem.erase(stem.size() - suffix.size());
    return stem;
}

} // namespace

void writeFeatureFile(const fs::path &path, const SlideFeatures &slide)
{
    const std::string prefix = "Cannot write features to '" + path.string() + "': ";
    if (slide.dim < 1)
        throw ProjectError(prefix + "each patch needs at least one feature (dim is " + std::to_string(slide.dim) + ")");
    if (slide.count < 0)
        throw ProjectError(prefix + "the patch count is negative (" + std::to_string(slide.count) + ")");
    const auto expected = static_cast<std::uint64_t>(slide.count) * static_cast<std::uint64_t>(slide.dim);
    if (slide.features.size() != expected)
        throw ProjectError(prefix + "there are " + std::to_string(slide.features.size()) + " feature values for "
                           + std::to_string(slide.count) + " patches of " + std::to_string(slide.dim) + " features (expected "
                           + std::to_string(expected) + ")");
    if (slide.coords.size() != static_cast<std::uint64_t>(slide.count))
        throw ProjectError(prefix + "there are " + std::to_string(slide.coords.size()) + " coordinates for " + std::to_string(slide.count)
                           + " patches");
    if (const std::string why = patchattributecodec::inconsistency(slide.attributes); !why.empty())
        throw ProjectError(prefix + why);

    const std::string slideId = slide.slideId.empty() ? path.stem().string() : slide.slideId;
    try {
        const std::uint64_t bytes = expected * sizeof(float) + slide.coords.size() * 16;
        writeHdf5Atomically(path, bytes, [&](Hdf5File &file) {
            file.writeFloats(kFeatures, {slide.count, slide.dim}, slide.features.data());
            const std::vector<std::int64_t> flat = flattenCoords(slide.coords);
            file.writeIntegers(kCoords, {slide.count, 2}, flat.data());
            patchattributecodec::write(file, "features", slide.attributes, slideId, saveDirectoryOf(path));
        });
    } catch (const std::runtime_error &e) { // Hdf5Error, or PartialFile's cause
        throw ProjectWriteError(prefix + e.what());
    }
}

FeatureFileSummary describeFeatureFile(const fs::path &path)
{
    try {
        const Hdf5File file = Hdf5File::openReadOnly(path);
        return summarize(file, path);
    } catch (const Hdf5Error &e) {
        throw ProjectError("Cannot read features from '" + path.string() + "': " + e.what());
    }
}

SlideFeatures readFeatureFile(const fs::path &path)
{
    const std::string prefix = "Cannot read features from '" + path.string() + "': ";
    try {
        const Hdf5File file = Hdf5File::openReadOnly(path);
        FeatureFileSummary summary = summarize(file, path);
        SlideFeatures slide;
        slide.slideId = std::move(summary.slideId);
        slide.count = summary.count;
        slide.dim = summary.dim;
        slide.attributes = std::move(summary.attributes);
        if (slide.count > 0) {
            slide.features = file.readFloats(kFeatures);
            for (std::size_t i = 0; i < slide.features.size(); ++i) {
                if (!std::isfinite(slide.features[i]))
                    throw Hdf5Error("'features' row " + std::to_string(i / static_cast<std::size_t>(slide.dim))
                                    + " holds a value that is not a finite number");
            }
            slide.coords = coordPairs(file.readIntegers(kCoords));
        }
        return slide;
    } catch (const Hdf5Error &e) {
        throw ProjectError(prefix + e.what());
    } catch (const std::bad_alloc &) {
        throw ProjectError(prefix + "there is not enough memory to load it");
    }
}

void writePatchFile(const fs::path &path, const PatchCoordinates &patches)
{
    const std::string prefix = "Cannot write patch coordinates to '" + path.string() + "': ";
    if (const std::string why = patchattributecodec::inconsistency(patches.attributes); !why.empty())
        throw ProjectError(prefix + why);
    const std::string slideId = patches.slideId.empty() ? patchFileStem(path) : patches.slideId;
    try {
        writeHdf5Atomically(path, patches.coords.size() * 16, [&](Hdf5File &file) {
            const std::vector<std::int64_t> flat = flattenCoords(patches.coords);
            file.writeIntegers(kCoords, {static_cast<std::int64_t>(patches.coords.size()), 2}, flat.data());
            patchattributecodec::write(file, "patches", patches.attributes, slideId, saveDirectoryOf(path));
        });
    } catch (const std::runtime_error &e) {
        throw ProjectWriteError(prefix + e.what());
    }
}

PatchCoordinates readPatchFile(const fs::path &path)
{
    const std::string prefix = "Cannot read patch coordinates from '" + path.string() + "': ";
    try {
        const Hdf5File file = Hdf5File::openReadOnly(path);
        requireReadableVersion(file);
        const std::int64_t rows = coordsRows(file);
        PatchCoordinates patches;
        patches.attributes = patchattributecodec::read(file);
        patches.slideId = patchattributecodec::slideName(file);
        if (patches.slideId.empty())
            patches.slideId = patchFileStem(path);
        if (rows > 0)
            patches.coords = coordPairs(file.readIntegers(kCoords));
        return patches;
    } catch (const Hdf5Error &e) {
        throw ProjectError(prefix + e.what());
    } catch (const std::bad_alloc &) {
        throw ProjectError(prefix + "there is not enough memory to load it");
    }
}

std::string noPatchesMessage(const std::string &slideId, const fs::path &featureFile, const PatchAttributes &attributes)
{
    std::string message = "Slide '" + slideId + "' has no patches in '" + featureFile.string() + "'";
    const nlohmann::json settings = nlohmann::json::parse(attributes.tissueSettings, nullptr, false);
    if (!settings.is_object() || !settings.contains("preset") || !settings.contains("min_tissue_per_patch"))
        return message + ": its tiling found no tissue patches";
    return message + ": "
        + noTissueAdvice(settings.value("preset", std::string()), settings.value("otsu", false),
                         settings.value("min_tissue_per_patch", 0.0));
}

} // namespace icmil::project
