// SPDX-License-Identifier: GPL-3.0-or-later
#include "slide/synthetic/glassslidepainter.h"

#include "slide/synthetic/seededrandom.h"

#include <algorithm>
#include <string>

#include <opencv2/imgproc.hpp>

namespace icmil::slide {

cv::Mat GlassSlidePainter::label(const std::string &slideId, std::uint64_t seed)
{
    constexpr int kSize = 400;
    cv::Mat label(kSize, kSize, CV_8UC3, cv::Scalar(250, 250, 248));
    const cv::Scalar ink(20, 20, 30);
    cv::putText(label, "ICMIL", cv::Point(24, 60), cv::FONT_HERSHEY_DUPLEX, 1.3, ink, 2, cv::LINE_AA);
    cv::putText(label, "synthetic H&E", cv::Point(24, 100), cv::FONT_HERSHEY_SIMPLEX, 0.8, ink, 1, cv::LINE_AA);

    // The slide id, as large as fits the label's width.
    const std::string text = slideId.empty() ? std::string("-") : slideId;
    int baseline = 0;
    const cv::Size unit = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, 1.0, 2, &baseline);
    const double scale = std::clamp(352.0 / std::max(unit.width, 1), 0.3, 1.6);
    cv::putText(label, text, cv::Point(24, 170), cv::FONT_HERSHEY_SIMPLEX, scale, ink, 2, cv::LINE_AA);

    // A barcode: bars and gaps of 2-6 px, drawn from the seed and the id.
    std::uint64_t idHash = seed;
    for (const char c : slideId)
        idHash = SeededRandom::hash(idHash, static_cast<unsigned char>(c));
    SeededRandom random(idHash);
    int x = 24;
    for (bool bar = true; x < kSize - 24; bar = !bar) {
        const int width = 2 + random.index(5);
        if (bar)
            cv::rectangle(label, cv::Rect(x, 210, std::min(width, kSize - 24 - x), 120), ink, cv::FILLED);
        x += width;
    }
    cv::putText(label, "seed " + std::to_string(seed), cv::Point(24, 370), cv::FONT_HERSHEY_SIMPLEX, 0.7, ink, 1, cv::LINE_AA);
    cv::rectangle(label, cv::Rect(0, 0, kSize, kSize), cv::Scalar(200, 200, 200), 2);
    return label;
}

cv::Mat GlassSlidePainter::macro(const cv::Mat &thumbnail, const cv::Mat &label)
{
    constexpr int kWidth = 1200;
    constexpr int kHeight = 400;
    cv::Mat macro(kHeight, kWidth, CV_8UC3);
    for (int y = 0; y < kHeight; ++y) {
        auto *pixel = macro.ptr<std::uint8_t>(y);
        for (int x = 0; x < kWidth; ++x, pixel += 3) { // glass, slightly brighter towards the middle
            const int shade = 12 - std::abs(y - kHeight / 2) * 24 / kHeight;
            pixel[0] = static_cast<std::uint8_t>(196 + shade);
            pixel[1] = static_cast<std::uint8_t>(208 + shade);
            pixel[2] = static_cast<std::uint8_t>(220 + shade);
        }
    }
    // The label at the left end.
    cv::Mat smallLabel;
    cv::resize(label, smallLabel, cv::Size(360, 360), 0, 0, cv::INTER_AREA);
    smallLabel.copyTo(macro(cv::Rect(20, 20, 360, 360)));

    // The tissue: the thumbnail multiplied onto the glass, so its white background disappears.
    const cv::Rect area(420, 20, kWidth - 440, kHeight - 40);
    const double scale = std::min(static_cast<double>(area.width) / thumbnail.cols, static_cast<double>(area.height) / thumbnail.rows);
    const cv::Size size(std::max(1, static_cast<int>(thumbnail.cols * scale)), std::max(1, static_cast<int>(thumbnail.rows * scale)));
    cv::Mat tissue;
    cv::resize(thumbnail, tissue, size, 0, 0, cv::INTER_AREA);
    const cv::Rect target(area.x + (area.width - size.width) / 2, area.y + (area.height - size.height) / 2, size.width, size.height);
    cv::Mat glass = macro(target);
    for (int y = 0; y < size.height; ++y) {
        auto *out = glass.ptr<std::uint8_t>(y);
        const auto *in = tissue.ptr<std::uint8_t>(y);
        for (int i = 0; i < size.width * 3; ++i) {
            const int lighter = std::min(255, in[i] + 12); // glass background (~243) maps to ~255
            out[i] = static_cast<std::uint8_t>(out[i] * lighter / 255);
        }
    }
    return macro;
}

} // namespace icmil::slide
