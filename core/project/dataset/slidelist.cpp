// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/dataset/slidelist.h"
#include "common/asciicase.h"

#include "project/dataset/labelstable.h"
#include "project/projecterror.h"
#include "slide/io/slidesource.h"

#include <algorithm>
#include <array>
#include <exception>
#include <string_view>

namespace icmil::project {

namespace fs = std::filesystem;

bool hasSlideExtension(const fs::path &path)
{
    static constexpr std::array<std::string_view, 15> kExtensions
        = {".svs", ".tif", ".tiff", ".ndpi", ".vms", ".vmu", ".scn", ".mrxs", ".svslide", ".bif", ".dcm", ".png", ".jpg", ".jpeg", ".bmp"};
    const std::string extension = asciiLower(path.extension().string());
    return std::find(kExtensions.begin(), kExtensions.end(), extension) != kExtensions.end();
}

fs::path findSlideFile(const fs::path &root, const std::string &slideId)
{
    for (const fs::path &dir : {root / "slides", root}) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec))
            continue;
        std::vector<fs::path> matches;
        for (const auto &entry : fs::directory_iterator(dir, ec)) {
            if (entry.is_regular_file(ec) && entry.path().stem() == slideId && entry.path().extension() != ".csv")
                matches.push_back(entry.path());
        }
        if (!matches.empty()) {
            std::sort(matches.begin(), matches.end());
            return matches.front();
        }
    }
    return {};
}

std::string slideReadProblem(const fs::path &path)
{
    try {
        const std::unique_ptr<slide::SlideSource> source = slide::SlideSource::open(path);
        const int coarsest = source->levelCount() - 1;
        const slide::LevelInfo &level = source->level(coarsest);
        const auto w = static_cast<int>(std::min<std::int64_t>(level.width, 256));
        const auto h = static_cast<int>(std::min<std::int64_t>(level.height, 256));
        const auto x = static_cast<std::int64_t>(static_cast<double>((level.width - w) / 2) * level.downsample);
        const auto y = static_cast<std::int64_t>(static_cast<double>((level.height - h) / 2) * level.downsample);
        if (w > 0 && h > 0)
            source->readRegion(coarsest, x, y, w, h);
        return {};
    } catch (const std::exception &e) {
        return e.what();
    }
}

SlideReadCache::SlideReadCache(Probe probe) : m_probe(std::move(probe))
{ }

std::string SlideReadCache::problem(const fs::path &path)
{
    std::error_code ec;
    Entry entry;
    entry.size = fs::file_size(path, ec);
    entry.modified = ec ? fs::file_time_type{} : fs::last_write_time(path, ec);
    if (!ec) {
        const std::lock_guard lock(m_mutex);
        const auto found = m_entries.find(path);
        if (found != m_entries.end() && found->second.size == entry.size && found->second.modified == entry.modified)
            return found->second.problem;
    }
    entry.problem = m_probe(path); // outside the lock: a slow slide does not hold up the others
    if (!ec) {
        const std::lock_guard lock(m_mutex);
        m_entries[path] = entry;
    }
    return entry.problem;
}

SlideListing listSlides(const fs::path &location)
{
    std::error_code ec;
    if (!fs::exists(location, ec))
        throw ProjectError("Cannot list slides in '" + location.string() + "': it does not exist");
    SlideListing listing;
    if (!fs::is_directory(location, ec)) {
        listing.slides.push_back({location.stem().string(), location});
        return listing;
    }
    const fs::path labels = location / "labels.csv";
    if (fs::is_regular_file(labels, ec)) {
        const LabelsTable table = LabelsTable::read(labels);
        for (const LabelsIssue &issue : table.issues())
            listing.problems.push_back("labels.csv line " + std::to_string(issue.line) + ": " + issue.message);
        for (const LabelledSlide &row : table.rows()) {
            const fs::path path = findSlideFile(location, row.slideId);
            if (path.empty())
                listing.problems.push_back("No slide file for slide_id '" + row.slideId + "' in '" + location.string() + "'");
            else
                listing.slides.push_back({row.slideId, path});
        }
        return listing;
    }
    const fs::path dir = fs::is_directory(location / "slides", ec) ? location / "slides" : location;
    for (const auto &entry : fs::directory_iterator(dir, ec)) {
        if (entry.is_regular_file(ec) && hasSlideExtension(entry.path()))
            listing.slides.push_back({entry.path().stem().string(), entry.path()});
    }
    std::sort(listing.slides.begin(), listing.slides.end(), [](const SlideEntry &a, const SlideEntry &b) { return a.path < b.path; });
    if (ec)
        throw ProjectError("Cannot list slides in '" + dir.string() + "': " + ec.message());
    return listing;
}

} // namespace icmil::project
