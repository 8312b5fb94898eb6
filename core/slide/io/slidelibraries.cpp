// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/io/slidelibraries.h"

#include <openslide.h>
#include <opencv2/core/utility.hpp>
#include <tiffio.h>

#include <regex>

namespace icmil::slide {

std::string openSlideVersion()
{
    return openslide_get_version();
}

std::string openCvVersion()
{
    return cv::getVersionString();
}

std::string libTiffVersion()
{
    // "LIBTIFF, Version 4.5.0\nCopyright ..." -> "4.5.0"
    const std::string text = TIFFGetVersion();
    std::smatch match;
    if (std::regex_search(text, match, std::regex(R"(Version\s+([0-9][0-9A-Za-z.\-]*))")))
        return match[1];
    return text.substr(0, text.find('\n'));
}

} // namespace icmil::slide
