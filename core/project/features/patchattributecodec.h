// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/features/patchattributes.h"

#include <string>

namespace icmil::project {

class Hdf5File;

// How PatchAttributes travel in an HDF5 file (internal to the feature store).
//
// Writing puts CLAM's and TRIDENT's attribute sets side by side on `coords` (see
// patchattributes.h), so CLAM's Whole_Slide_Bag_FP (patch_size, patch_level) and TRIDENT's
// read_coords (patch_size, level0_magnification, target_magnification, else its CLAM fallback
// with patch_size, patch_level, custom_downsample) both find what they look for. Unknown fields
// are left out rather than written as 'None'. The file's root gets icmil_format/_version.
namespace patchattributecodec {

inline constexpr std::int64_t kFormatVersion = 1;

// `kind` is "features" or "patches"; `saveDirectory` fills CLAM's save_path and TRIDENT's
// savetodir. Writes the `features` attributes too when that dataset exists.
void write(Hdf5File &file, const std::string &kind, const PatchAttributes &attributes, const std::string &slideId,
           const std::string &saveDirectory);

// Reads what the file carries; anything missing, 'None' or of the wrong type stays unknown.
PatchAttributes read(const Hdf5File &file);

// The slide name the file records (`name` on `features`, else on `coords`); empty if none.
std::string slideName(const Hdf5File &file);

// The format version on the file's root, 0 for files not written by ICMIL Studio.
std::int64_t formatVersion(const Hdf5File &file);

// Empty when the attributes agree with each other; otherwise why not, in words: CLAM and TRIDENT
// readers would cut different patches from the same file.
std::string inconsistency(const PatchAttributes &attributes);

} // namespace patchattributecodec

} // namespace icmil::project
