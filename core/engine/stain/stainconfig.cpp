// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/stain/stainconfig.h"

#include "common/asciicase.h"
#include "engine/engineerror.h"

#include <cmath>

namespace icmil::engine {

std::string stainMethodName(StainMethod method)
{
    switch (method) {
    case StainMethod::None: return "none";
    case StainMethod::Macenko: return "macenko";
    case StainMethod::Reinhard: return "reinhard";
    }
    return "none";
}

std::vector<std::string> stainMethodNames()
{
    return {"none", "macenko", "reinhard"};
}

StainMethod parseStainMethod(const std::string &name)
{
    const std::string lower = asciiLower(name);
    for (StainMethod method : {StainMethod::None, StainMethod::Macenko, StainMethod::Reinhard})
        if (lower == stainMethodName(method))
            return method;
    throw EngineError("Unknown stain normalisation '" + name + "': use none, macenko or reinhard");
}

namespace {

// RGB in (0, 1] -> l-alpha-beta (Reinhard et al. 2001: LMS cone space, log10, decorrelated axes).
std::array<double, 3> lab(const std::array<double, 3> &rgb)
{
    const double l = 0.3811 * rgb[0] + 0.5783 * rgb[1] + 0.0402 * rgb[2];
    const double m = 0.1967 * rgb[0] + 0.7244 * rgb[1] + 0.0782 * rgb[2];
    const double s = 0.0241 * rgb[0] + 0.1288 * rgb[1] + 0.8444 * rgb[2];
    const double L = std::log10(l), M = std::log10(m), S = std::log10(s);
    return {(L + M + S) / std::sqrt(3.0), (L + M - 2.0 * S) / std::sqrt(6.0), (L - M) / std::sqrt(2.0)};
}

} // namespace

StainProfile builtInStainReference()
{
    StainProfile reference;
    reference.haematoxylin = {0.5626, 0.7201, 0.4062};
    reference.eosin = {0.2159, 0.8012, 0.5581};
    reference.maxConcentration = {1.9705, 1.0308};
    constexpr int kSteps = 64;
    std::array<double, 3> sum{}, squares{};
    std::int64_t count = 0;
    for (int i = 1; i <= kSteps; ++i)
        for (int j = 1; j <= kSteps; ++j) {
            const double h = reference.maxConcentration[0] * i / kSteps;
            const double e = reference.maxConcentration[1] * j / kSteps;
            std::array<double, 3> rgb{};
            bool stained = true;
            for (std::size_t c = 0; c < 3; ++c) {
                const double od = h * reference.haematoxylin[c] + e * reference.eosin[c];
                stained = stained && od > kStainedDensity;
                rgb[c] = std::max(std::exp(-od), 1.0 / 255.0);
            }
            if (!stained)
                continue;
            const std::array<double, 3> v = lab(rgb);
            for (std::size_t c = 0; c < 3; ++c) {
                sum[c] += v[c];
                squares[c] += v[c] * v[c];
            }
            ++count;
        }
    for (std::size_t c = 0; c < 3; ++c) {
        reference.labMean[c] = sum[c] / static_cast<double>(count);
        reference.labStd[c]
            = std::sqrt(std::max(0.0, squares[c] / static_cast<double>(count) - reference.labMean[c] * reference.labMean[c]));
    }
    return reference;
}

} // namespace icmil::engine
