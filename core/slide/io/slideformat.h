// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What a file's first bytes and TIFF directories say before a backend opens it: formats that a
// backend would misread or fail on with a misleading message (a DICOM whole slide that this
// OpenSlide cannot read, a multichannel fluorescence TIFF that would open as one grey channel),
// and the resolution a plain TIFF records. No pixels are decoded.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace icmil::slide {

struct TiffFacts {
    bool isTiff = false;
    int samplesPerPixel = 0;               // of the first directory
    bool greyscale = false;                // the first directory is one grey (min-is-black/white) sample
    int fullSizeGreyPlanes = 0;            // grey directories of the first one's size (channels of a stack)
    bool qptiff = false;                   // Akoya/PerkinElmer QPTIFF (PerkinElmer-QPI-ImageDescription)
    std::vector<std::string> channelNames; // QPTIFF <Name>s of the full-resolution planes
    std::optional<double> mpp;             // from XResolution + ResolutionUnit (cm or inch) when it is a
                                           // microscope's (<= 50 um/px; not 72 or 300 dpi)
};

// Reads the TIFF directories of `path`; isTiff false for any other file, or a TIFF libtiff cannot
// read (the backends then give their own errors). Never throws.
TiffFacts inspectTiff(const std::filesystem::path &path);

// Whether the file carries the DICOM signature ("DICM" after the 128-byte preamble).
bool isDicomFile(const std::filesystem::path &path);

// Why a file that no backend should open as it is must be refused, in words for "Cannot open
// slide 'x': <cause>"; empty when there is no such reason. `openSlideRecognises`: OpenSlide's
// own detection, so a DICOM file is refused only by an OpenSlide that cannot read it.
std::string refusedFormat(const std::filesystem::path &path, bool openSlideRecognises);

} // namespace icmil::slide
