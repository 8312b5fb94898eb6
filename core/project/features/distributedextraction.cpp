// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/distributedextraction.h"

#include "engine/distributed/distributedgroup.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <map>

namespace icmil::project {

ExtractionReport gatherExtractionReports(engine::DistributedGroup &group, const std::string &key, const ExtractionReport &mine,
                                         const std::vector<SlideEntry> &allSlides)
{
    nlohmann::json slides = nlohmann::json::array();
    for (const SlideExtraction &s : mine.slides)
        slides.push_back({{"slide", s.slideId},
                          {"status", static_cast<int>(s.status)},
                          {"message", s.message},
                          {"patches", s.patches},
                          {"seconds", s.seconds},
                          {"file", s.featureFile.string()}});
    const nlohmann::json json{{"slides", slides}, {"cancelled", mine.cancelled}};
    const auto start = std::chrono::steady_clock::now();
    const std::vector<std::string> all = group.allGatherText(key, json.dump());
    std::map<std::string, SlideExtraction> bySlide;
    ExtractionReport merged = mine;
    merged.slides.clear();
    merged.patches = 0;
    for (const std::string &text : all) { // written by this program's ranks just now
        const nlohmann::json rank = nlohmann::json::parse(text);
        merged.cancelled = merged.cancelled || rank.at("cancelled").get<bool>();
        for (const nlohmann::json &s : rank.at("slides")) {
            SlideExtraction slide;
            slide.slideId = s.at("slide").get<std::string>();
            slide.status = static_cast<SlideExtraction::Status>(s.at("status").get<int>());
            slide.message = s.at("message").get<std::string>();
            slide.patches = s.at("patches").get<std::int64_t>();
            slide.seconds = s.at("seconds").get<double>();
            slide.featureFile = s.at("file").get<std::string>();
            bySlide[slide.slideId] = slide;
        }
    }
    for (const SlideEntry &entry : allSlides) {
        const auto found = bySlide.find(entry.slideId);
        if (found == bySlide.end())
            continue;
        if (found->second.status == SlideExtraction::Status::Extracted)
            merged.patches += found->second.patches;
        merged.slides.push_back(found->second);
    }
    merged.seconds = mine.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return merged;
}

} // namespace icmil::project
