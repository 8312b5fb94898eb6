// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/stainsettings.h"

#include "project/projecterror.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <vector>

namespace icmil::project {

using json = nlohmann::json;

namespace {

json profileObject(const engine::StainProfile &p)
{
    return {{"haematoxylin", p.haematoxylin}, {"eosin", p.eosin},    {"max_concentration", p.maxConcentration},
            {"lab_mean", p.labMean},          {"lab_std", p.labStd}, {"pixels", p.pixels}};
}

engine::StainProfile profileFrom(const json &j)
{
    engine::StainProfile p;
    j.at("haematoxylin").get_to(p.haematoxylin);
    j.at("eosin").get_to(p.eosin);
    j.at("max_concentration").get_to(p.maxConcentration);
    j.at("lab_mean").get_to(p.labMean);
    j.at("lab_std").get_to(p.labStd);
    p.pixels = j.value("pixels", std::int64_t{0});
    return p;
}

} // namespace

std::string stainProfileJson(const engine::StainProfile &profile)
{
    return profileObject(profile).dump();
}

engine::StainProfile stainProfileFromJson(const std::string &text)
{
    try {
        return profileFrom(json::parse(text));
    } catch (const json::exception &e) {
        throw ProjectError(std::string("Cannot read a stain profile: ") + e.what());
    }
}

std::string stainSettingsKey(const engine::StainNormalisation &settings)
{
    if (!settings.active())
        return {};
    return json{{"method", engine::stainMethodName(settings.method)},
                {"reference", profileObject(settings.reference)},
                {"reference_source", settings.referenceSource}}
        .dump();
}

engine::StainNormalisation stainNormalisationFromKey(const std::string &key)
{
    engine::StainNormalisation settings;
    if (key.empty())
        return settings;
    try {
        const json j = json::parse(key);
        settings.method = engine::parseStainMethod(j.at("method").get<std::string>());
        settings.reference = profileFrom(j.at("reference"));
        settings.referenceSource = j.value("reference_source", std::string("built-in"));
        return settings;
    } catch (const std::exception &e) {
        throw ProjectError(std::string("Cannot read the stain settings: ") + e.what());
    }
}

StainRegion parseStainRegion(const std::string &text)
{
    const auto fail
        = [&]() { return ProjectError("A stain reference is built-in or SLIDE@X,Y,W,H (a level-0 rectangle), not '" + text + "'"); };
    const std::size_t at = text.rfind('@');
    if (at == std::string::npos || at == 0)
        throw fail();
    std::vector<std::int64_t> numbers;
    const char *begin = text.data() + at + 1;
    const char *end = text.data() + text.size();
    while (begin < end) {
        std::int64_t value = 0;
        const auto [next, error] = std::from_chars(begin, end, value);
        if (error != std::errc())
            throw fail();
        numbers.push_back(value);
        begin = next;
        if (begin < end && *begin++ != ',')
            throw fail();
    }
    if (numbers.size() != 4 || numbers[0] < 0 || numbers[1] < 0 || numbers[2] < 1 || numbers[3] < 1)
        throw fail();
    return {text.substr(0, at), numbers[0], numbers[1], numbers[2], numbers[3]};
}

std::string stainRegionText(const StainRegion &region)
{
    return region.slide.string() + "@" + std::to_string(region.x) + "," + std::to_string(region.y) + "," + std::to_string(region.width)
        + "," + std::to_string(region.height);
}

} // namespace icmil::project
