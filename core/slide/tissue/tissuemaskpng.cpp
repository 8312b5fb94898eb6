// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/tissue/tissuemaskpng.h"

#include "common/partialfile.h"
#include "slide/slideerror.h"

#include <stdexcept>
#include <string_view>

#include <opencv2/imgcodecs.hpp>

namespace icmil::slide {

namespace {

std::vector<std::uint8_t> encodeOrThrow(const TissueMap &map)
{
    if (map.mask().empty())
        throw std::runtime_error("the tissue map has no mask");
    const cv::Mat mask(map.maskHeight(), map.maskWidth(), CV_8UC1, const_cast<std::uint8_t *>(map.mask().data()));
    std::vector<std::uint8_t> png;
    if (!cv::imencode(".png", mask, png))
        throw std::runtime_error("PNG encoding failed");
    return png;
}

} // namespace

std::vector<std::uint8_t> TissueMaskPng::encode(const TissueMap &map)
{
    try {
        return encodeOrThrow(map);
    } catch (const std::exception &error) {
        throw SlideError(std::string("Cannot encode the tissue mask as PNG: ") + error.what());
    }
}

void TissueMaskPng::write(const TissueMap &map, const std::filesystem::path &path)
{
    try {
        PartialFile file(path);
        const std::vector<std::uint8_t> png = encodeOrThrow(map);
        file.write(std::string_view(reinterpret_cast<const char *>(png.data()), png.size()));
        file.commit();
    } catch (const std::exception &error) {
        throw SlideError("Cannot write tissue mask '" + path.string() + "': " + error.what());
    }
}

} // namespace icmil::slide
