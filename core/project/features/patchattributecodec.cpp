// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/patchattributecodec.h"

#include "common/numberformat.h"
#include "project/features/hdf5file.h"

#include <cmath>
#include <sstream>

namespace icmil::project::patchattributecodec {

namespace {

const std::string kCoords = "coords";
const std::string kFeatures = "features";

// TRIDENT writes magnifications as Python ints when they are whole (20, 40); so do we.
void setNumber(Hdf5File &file, const std::string &name, double value)
{
    if (std::isfinite(value) && value == std::round(value) && std::abs(value) < 1e15)
        file.setIntegerAttribute(kCoords, name, std::llround(value));
    else
        file.setFloatAttribute(kCoords, name, value);
}

std::optional<double> number(const Hdf5File &file, const std::string &object, const std::string &name)
{
    const auto values = file.numberAttribute(object, name);
    if (!values || values->empty() || !std::isfinite(values->front()))
        return std::nullopt;
    return values->front();
}

std::optional<std::int64_t> integer(const Hdf5File &file, const std::string &name)
{
    const auto value = number(file, kCoords, name);
    return value ? std::optional<std::int64_t>(std::llround(*value)) : std::nullopt;
}

std::optional<std::array<std::int64_t, 2>> integerPair(const Hdf5File &file, const std::string &name)
{
    const auto values = file.numberAttribute(kCoords, name);
    if (!values || values->size() != 2)
        return std::nullopt;
    return std::array<std::int64_t, 2>{std::llround((*values)[0]), std::llround((*values)[1])};
}

std::string known(const std::optional<std::string> &text)
{
    return text && *text != "None" ? *text : std::string();
}

} // namespace

void write(Hdf5File &file, const std::string &kind, const PatchAttributes &a, const std::string &slideId, const std::string &saveDirectory)
{
    file.setStringAttribute("/", "icmil_format", kind);
    file.setIntegerAttribute("/", "icmil_format_version", kFormatVersion);

    // CLAM (create_patches_fp.py) and TRIDENT (coords_to_h5) both.
    file.setStringAttribute(kCoords, "name", slideId);
    if (a.patchSize)
        file.setIntegerAttribute(kCoords, "patch_size", *a.patchSize);
    // CLAM only.
    file.setStringAttribute(kCoords, "save_path", saveDirectory);
    if (a.patchLevel)
        file.setIntegerAttribute(kCoords, "patch_level", *a.patchLevel);
    if (a.levelDownsample)
        file.setFloatArrayAttribute(kCoords, "downsample", {(*a.levelDownsample)[0], (*a.levelDownsample)[1]});
    if (a.levelDimensions) {
        const std::vector<std::int64_t> dims{(*a.levelDimensions)[0], (*a.levelDimensions)[1]};
        file.setIntegerArrayAttribute(kCoords, "downsampled_level_dim", dims);
        file.setIntegerArrayAttribute(kCoords, "level_dim", dims);
    }
    // TRIDENT's fallback for CLAM-style files reads level_downsamples[patch_level] * custom_downsample.
    if (a.patchSize && a.patchSizeLevel0 && a.levelDownsample && *a.patchSize > 0 && (*a.levelDownsample)[0] > 0)
        file.setFloatAttribute(kCoords, "custom_downsample",
                               static_cast<double>(*a.patchSizeLevel0) / (static_cast<double>(*a.patchSize) * (*a.levelDownsample)[0]));
    // TRIDENT only.
    file.setStringAttribute(kCoords, "savetodir", saveDirectory);
    if (a.patchSizeLevel0)
        file.setIntegerAttribute(kCoords, "patch_size_level0", *a.patchSizeLevel0);
    if (a.level0Magnification)
        setNumber(file, "level0_magnification", *a.level0Magnification);
    if (a.targetMagnification)
        setNumber(file, "target_magnification", *a.targetMagnification);
    if (a.overlap)
        file.setIntegerAttribute(kCoords, "overlap", *a.overlap);
    if (a.level0Dimensions) {
        file.setIntegerAttribute(kCoords, "level0_width", (*a.level0Dimensions)[0]);
        file.setIntegerAttribute(kCoords, "level0_height", (*a.level0Dimensions)[1]);
    }
    // Ours only.
    if (!a.tissueSettings.empty())
        file.setStringAttribute(kCoords, "icmil_tissue_settings", a.tissueSettings);
    if (!a.stainSettings.empty())
        file.setStringAttribute(kCoords, "icmil_stain_normalisation", a.stainSettings);
    if (!a.stainProfile.empty())
        file.setStringAttribute(kCoords, "icmil_stain_profile", a.stainProfile);

    if (file.hasDataset(kFeatures)) { // TRIDENT's extract_patch_features
        file.setStringAttribute(kFeatures, "name", slideId);
        file.setStringAttribute(kFeatures, "savetodir", saveDirectory);
        if (!a.encoder.empty())
            file.setStringAttribute(kFeatures, "encoder", a.encoder);
    }
}

PatchAttributes read(const Hdf5File &file)
{
    PatchAttributes a;
    a.patchSize = integer(file, "patch_size");
    a.patchLevel = integer(file, "patch_level");
    a.patchSizeLevel0 = integer(file, "patch_size_level0");
    a.targetMagnification = number(file, kCoords, "target_magnification");
    a.level0Magnification = number(file, kCoords, "level0_magnification");
    a.overlap = integer(file, "overlap");
    if (const auto downsample = file.numberAttribute(kCoords, "downsample"); downsample && !downsample->empty())
        a.levelDownsample = std::array<double, 2>{downsample->front(), downsample->back()};
    a.levelDimensions = integerPair(file, "level_dim");
    if (!a.levelDimensions)
        a.levelDimensions = integerPair(file, "downsampled_level_dim");
    const auto width = integer(file, "level0_width");
    const auto height = integer(file, "level0_height");
    if (width && height)
        a.level0Dimensions = std::array<std::int64_t, 2>{*width, *height};
    a.encoder = known(file.stringAttribute(kFeatures, "encoder"));
    a.tissueSettings = known(file.stringAttribute(kCoords, "icmil_tissue_settings"));
    a.stainSettings = known(file.stringAttribute(kCoords, "icmil_stain_normalisation"));
    a.stainProfile = known(file.stringAttribute(kCoords, "icmil_stain_profile"));

    if (file.hasAttribute("/", "icmil_format"))
        a.sourceFormat = "icmil";
    else if (file.hasAttribute(kCoords, "patch_size_level0") || file.hasAttribute(kCoords, "target_magnification")
             || file.hasAttribute(kCoords, "level0_magnification") || file.hasAttribute(kCoords, "savetodir")
             || file.hasAttribute(kFeatures, "savetodir") || file.hasAttribute(kFeatures, "encoder"))
        a.sourceFormat = "trident";
    else
        a.sourceFormat = "clam";
    return a;
}

std::string slideName(const Hdf5File &file)
{
    if (std::string name = known(file.stringAttribute(kFeatures, "name")); !name.empty())
        return name;
    return known(file.stringAttribute(kCoords, "name"));
}

std::int64_t formatVersion(const Hdf5File &file)
{
    const auto version = number(file, "/", "icmil_format_version");
    return version ? std::llround(*version) : 0;
}

std::string inconsistency(const PatchAttributes &a)
{
    if (!a.patchSize || !a.patchSizeLevel0 || !a.level0Magnification || !a.targetMagnification || *a.targetMagnification <= 0)
        return {};
    const double covered = static_cast<double>(*a.patchSize) * *a.level0Magnification / *a.targetMagnification;
    if (std::abs(covered - static_cast<double>(*a.patchSizeLevel0)) <= 1.0)
        return {};
    return "the level-0 patch size is " + std::to_string(*a.patchSizeLevel0) + " px, but " + std::to_string(*a.patchSize) + " px at "
        + formatSignificant(*a.targetMagnification) + "x on a " + formatSignificant(*a.level0Magnification) + "x slide covers "
        + std::to_string(std::llround(covered)) + " px";
}

} // namespace icmil::project::patchattributecodec
