// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/features/patchattributes.h"

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

// The HDF5 feature store: one file per slide with its patch features and their coordinates, laid
// out so that CLAM and TRIDENT read our files and we read theirs.
//
//   dataset    ours                       CLAM h5_files/<slide>.h5     TRIDENT features_<enc>/<slide>.h5
//   features   float32 N x D              float32 N x D                float32 N x D (as the encoder gave)
//   coords     int64 N x 2 (x, y level 0) int32 N x 2                  int64 N x 2
//   attributes both sets (patchattributes.h)  none                     on coords (patching), on features
//                                                                     (name, savetodir, encoder)
//
// Patch files (coordinates only, what `icmil tile` writes) follow CLAM's patches/<slide>.h5 and
// TRIDENT's patches/<slide>_patches.h5: one `coords` dataset with the attributes.
//
// All functions are safe to call from any thread (HDF5 is serialized, see hdf5lock.h). Errors
// throw ProjectError with one sentence: "Cannot read features from 'x.h5': no dataset 'features'".
namespace icmil::project {

// One slide's patch features. Row i of `features` belongs to the patch whose level-0 top-left
// corner is coords[i] = {x, y}.
struct SlideFeatures {
    std::string slideId;
    std::int64_t count = 0;      // N, patches
    std::int64_t dim = 0;        // D, features per patch
    std::vector<float> features; // row-major N x D
    std::vector<std::array<std::int64_t, 2>> coords;
    PatchAttributes attributes;
};

// One slide's patch grid without features (CLAM's and TRIDENT's patch coordinate files).
struct PatchCoordinates {
    std::string slideId;
    std::vector<std::array<std::int64_t, 2>> coords; // level-0 top-left {x, y}
    PatchAttributes attributes;
};

// What a feature file holds, read without its values.
struct FeatureFileSummary {
    std::string slideId;
    std::int64_t count = 0;
    std::int64_t dim = 0;
    PatchAttributes attributes;
};

// Writes `slide` atomically: the HDF5 file is built in memory, its bytes go to "<path>.partial",
// fsync, rename over `path` (why in memory: Hdf5File::createInMemory; it costs about twice the
// feature bytes of extra memory while writing). On any failure (bad input, disk full, unwritable
// folder) `path` is untouched, no partial file is left, and ProjectError says why
// ("Cannot write features to 'x.h5': No space left on device").
// Needs dim >= 1, features.size() == count * dim and coords.size() == count (count may be 0).
void writeFeatureFile(const std::filesystem::path &path, const SlideFeatures &slide);

// Reads ours, CLAM's or TRIDENT's feature file: features N x D or 1 x N x D (any float or integer
// type, converted to float32), coords N x 2 or 1 x N x 2 (int32, int64 or float). slideId is the
// file's `name` attribute, else the file name without ".h5". Missing attributes stay unknown.
SlideFeatures readFeatureFile(const std::filesystem::path &path);

// The same checks as readFeatureFile, without reading the values (fast: for listings and imports).
FeatureFileSummary describeFeatureFile(const std::filesystem::path &path);

// "Slide 'X' has no patches in 'FILE'", then why, from the tissue settings the file records
// (preset, minimum tissue per patch), and what to change: for a feature file of no patches.
std::string noPatchesMessage(const std::string &slideId, const std::filesystem::path &featureFile, const PatchAttributes &attributes);

// Writes a coordinates-only patch file atomically (as writeFeatureFile).
void writePatchFile(const std::filesystem::path &path, const PatchCoordinates &patches);

// Reads ours, CLAM's (patches/<slide>.h5) or TRIDENT's (patches/<slide>_patches.h5) patch file.
// slideId falls back to the file name without "_patches.h5" / ".h5".
PatchCoordinates readPatchFile(const std::filesystem::path &path);

} // namespace icmil::project
