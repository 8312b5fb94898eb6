// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Whether a TIFF file is whole: its header, the chain of its image directories and every block
// they point to (tag values, strips and tiles) lie inside the file. A slide cut short by an
// interrupted copy or download, or with a damaged directory, is then refused at open by name,
// before OpenSlide or the image decoders misread it (a truncated .svs opened as a plain image
// of its first level) or fail later, tile by tile. Reads the directories only, never pixels.

#include <filesystem>
#include <string>

namespace icmil::slide {

// The cause, in words for "Cannot open slide 'x': <cause>", or empty when the file does not
// start like a TIFF (classic or BigTIFF), its structure is whole, or it is a Hamamatsu NDPI (its
// first directory carries tag 65420; NDPI wraps offsets past 4 GiB to 32 bits, which only
// OpenSlide reads). Never throws. Runs before any library opens the file, so a hostile TIFF is
// refused before OpenSlide's format detection allocates what its directories declare.
//   "the file is cut short or damaged: TIFF directory 3 lies past the end of the file; copy or download it again"
std::string tiffStructureProblem(const std::filesystem::path &path);

} // namespace icmil::slide
