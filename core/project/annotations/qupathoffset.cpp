// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/annotations/qupathoffset.h"

#include "project/dataset/slidelist.h"
#include "project/projectcatalog.h"
#include "slide/io/slidesource.h"

#include <exception>
#include <memory>

namespace icmil::project {

namespace {

double numberProperty(const slide::SlideSource &source, const char *name)
{
    const auto &properties = source.metadata().properties;
    const auto found = properties.find(name);
    if (found == properties.end())
        return 0.0;
    try {
        return std::stod(found->second);
    } catch (const std::exception &) {
        return 0.0;
    }
}

} // namespace

std::array<double, 2> quPathOffset(const slide::SlideSource &source)
{
    return {numberProperty(source, "openslide.bounds-x"), numberProperty(source, "openslide.bounds-y")};
}

std::optional<std::array<double, 2>> quPathOffsetOfFile(const std::filesystem::path &path)
{
    try {
        const std::unique_ptr<slide::SlideSource> source = slide::SlideSource::open(path);
        return quPathOffset(*source);
    } catch (const std::exception &) {
        return std::nullopt;
    }
}

std::map<std::string, std::filesystem::path> projectSlideFiles(const std::filesystem::path &projectRoot)
{
    std::map<std::string, std::filesystem::path> files;
    for (const SlideEntry &slide : listSlides(readProjectSettings(projectRoot).slides).slides)
        files.emplace(slide.slideId, slide.path);
    return files;
}

} // namespace icmil::project
