// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/io/slideformat.h"

#include "slide/io/slidelibraries.h"

#include <tiffio.h>

#include <array>
#include <cstdarg>
#include <fstream>
#include <regex>

namespace icmil::slide {

namespace fs = std::filesystem;

namespace {

constexpr double kMaxMicroscopeMpp = 50.0;

int quiet(TIFF *, void *, const char *, const char *, va_list)
{
    return 1;
}

bool hasTiffSignature(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::array<char, 4> head{};
    if (!in.read(head.data(), head.size()))
        return false;
    const std::string magic(head.data(), head.size());
    return magic == std::string("II*\0", 4) || magic == std::string("MM\0*", 4) || magic == std::string("II+\0", 4)
        || magic == std::string("MM\0+", 4);
}

std::string description(TIFF *tiff)
{
    char *text = nullptr;
    return TIFFGetField(tiff, TIFFTAG_IMAGEDESCRIPTION, &text) == 1 && text != nullptr ? std::string(text) : std::string();
}

// The fields of the current directory that say what its pixels are.
struct Directory {
    std::uint32_t width = 0, height = 0;
    std::uint16_t samples = 1, photometric = PHOTOMETRIC_MINISBLACK;
    bool greyPlane() const { return samples == 1 && (photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE); }
};

Directory readDirectory(TIFF *tiff)
{
    Directory d;
    TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &d.width);
    TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &d.height);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &d.samples);
    TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &d.photometric);
    return d;
}

std::optional<double> micronsPerPixel(TIFF *tiff)
{
    float resolution = 0.0f;
    std::uint16_t unit = RESUNIT_NONE;
    if (TIFFGetField(tiff, TIFFTAG_XRESOLUTION, &resolution) != 1 || !(resolution > 0.0f))
        return std::nullopt;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_RESOLUTIONUNIT, &unit);
    const double mpp = unit == RESUNIT_CENTIMETER ? 1e4 / static_cast<double>(resolution)
        : unit == RESUNIT_INCH                    ? 25400.0 / static_cast<double>(resolution)
                                                  : 0.0;
    // 72, 96 or 300 dpi is a screen's or a printer's, not a microscope's (0.1-20 um/px).
    return mpp > 0.0 && mpp <= kMaxMicroscopeMpp ? std::optional<double>(mpp) : std::nullopt;
}

} // namespace

TiffFacts inspectTiff(const fs::path &path)
{
    TiffFacts facts;
    if (!hasTiffSignature(path))
        return facts;
    TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(options, quiet, nullptr);
    TIFFOpenOptionsSetWarningHandlerExtR(options, quiet, nullptr);
    TIFF *tiff = TIFFOpenExt(path.c_str(), "rO", options); // O: tile/strip offsets only when asked for (never)
    TIFFOpenOptionsFree(options);
    if (tiff == nullptr)
        return facts;
    facts.isTiff = true;
    const Directory first = readDirectory(tiff);
    facts.samplesPerPixel = first.samples;
    facts.greyscale = first.greyPlane();
    facts.mpp = micronsPerPixel(tiff);
    facts.qptiff = description(tiff).find("PerkinElmer-QPI-ImageDescription") != std::string::npos;
    const std::regex name("<Name>([^<]*)</Name>");
    constexpr int kMaxDirectories = 256; // a hostile file may chain thousands
    int directory = 0;
    do {
        const Directory d = readDirectory(tiff);
        if (d.width == first.width && d.height == first.height && d.greyPlane()) {
            ++facts.fullSizeGreyPlanes;
            std::smatch match;
            const std::string text = description(tiff);
            if (facts.qptiff && std::regex_search(text, match, name))
                facts.channelNames.push_back(match[1].str());
        }
    } while (++directory < kMaxDirectories && TIFFReadDirectory(tiff) == 1);
    TIFFClose(tiff);
    return facts;
}

bool isDicomFile(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::array<char, 132> head{};
    return in.read(head.data(), head.size()) && std::string(head.data() + 128, 4) == "DICM";
}

std::string refusedFormat(const fs::path &path, bool openSlideRecognises)
{
    if (!openSlideRecognises && isDicomFile(path))
        return "a DICOM file, which OpenSlide " + openSlideVersion()
            + " cannot read (OpenSlide reads DICOM whole-slide images from version 4.0.0): convert the slide to a tiled pyramidal "
              "TIFF, or use a build of ICMIL Studio against OpenSlide 4";
    const TiffFacts tiff = inspectTiff(path);
    if (!tiff.isTiff)
        return {};
    if (tiff.qptiff || (tiff.greyscale && tiff.fullSizeGreyPlanes >= 2)) {
        std::string channels = std::to_string(tiff.fullSizeGreyPlanes) + " channels";
        for (std::size_t i = 0; i < tiff.channelNames.size(); ++i)
            channels += (i ? ", " : ": ") + tiff.channelNames[i];
        return std::string("a multichannel fluorescence image (") + (tiff.qptiff ? "QPTIFF, " : "") + channels
            + "); ICMIL Studio reads brightfield RGB slides (H&E, IHC), and would show only the first channel in grey";
    }
    if (tiff.samplesPerPixel > 4 || tiff.samplesPerPixel == 2)
        return "a TIFF with " + std::to_string(tiff.samplesPerPixel)
            + " samples per pixel (a multichannel image); ICMIL Studio reads brightfield RGB slides";
    return {};
}

} // namespace icmil::slide
