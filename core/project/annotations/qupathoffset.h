// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Where QuPath's pixel coordinates of a slide start. QuPath shows a slide whose OpenSlide bounds
// crop it (openslide.bounds-x, openslide.bounds-y: MIRAX, some NDPI and Leica files) cropped to
// those bounds, its origin at their top-left corner, so a point's QuPath coordinates are its
// level-0 coordinates minus the offset. Importing QuPath's annotations adds it
// (AnnotationFrame::offset); exporting to QuPath (attention detections, attention regions)
// subtracts it. Slides without bounds have the offset {0, 0}.

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace icmil::slide {
class SlideSource;
}

namespace icmil::project {

// {bounds-x, bounds-y} from the slide's properties; 0 for one that is missing or not a number.
std::array<double, 2> quPathOffset(const slide::SlideSource &source);

// The same for the slide file at `path`, opened for it; nullopt when it cannot be opened.
std::optional<std::array<double, 2>> quPathOffsetOfFile(const std::filesystem::path &path);

// A project's slide files by slide id: those of the slides folder its settings name
// (readProjectSettings, listSlides). Throws ProjectError as they do (no such folder, a labels.csv
// that cannot be read).
std::map<std::string, std::filesystem::path> projectSlideFiles(const std::filesystem::path &projectRoot);

} // namespace icmil::project
