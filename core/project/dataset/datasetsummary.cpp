// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/dataset/datasetsummary.h"

#include "common/numberformat.h"
#include "project/dataset/slidelist.h"

#include "slide/slideerror.h"
#include "slide/io/slidesource.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

std::string humanBytes(std::uint64_t bytes)
{
    if (bytes >= (std::uint64_t{1} << 30))
        return formatFixed(static_cast<double>(bytes) / static_cast<double>(std::uint64_t{1} << 30), 1) + " GiB";
    return formatFixed(static_cast<double>(bytes) / static_cast<double>(std::uint64_t{1} << 20), 1) + " MiB";
}

} // namespace

DatasetSummary DatasetSummary::inspect(const fs::path &datasetDir)
{
    DatasetSummary summary;
    summary.root = datasetDir;
    const LabelsTable labels = LabelsTable::read(datasetDir / "labels.csv");
    summary.labelIssues = labels.issues();
    for (const LabelledSlide &row : labels.rows()) {
        SlideFacts facts;
        facts.labels = row;
        ++summary.slidesPerLabel[row.label];
        facts.path = findSlideFile(datasetDir, row.slideId);
        if (facts.path.empty()) {
            facts.error = "no file named '" + row.slideId + ".*' in '" + (datasetDir / "slides").string() + "'";
        } else {
            try {
                const auto source = slide::SlideSource::open(facts.path);
                const slide::SlideMetadata &m = source->metadata();
                facts.vendor = m.vendor;
                facts.width = m.levels.front().width;
                facts.height = m.levels.front().height;
                facts.levelCount = source->levelCount();
                facts.mpp = m.mppX;
                facts.objectivePower = m.objectivePower;
                std::error_code ec;
                facts.fileBytes = fs::file_size(facts.path, ec);
                ++summary.openable;
            } catch (const slide::SlideError &e) {
                facts.error = e.what();
            }
        }
        summary.slides.push_back(std::move(facts));
    }
    return summary;
}

std::string DatasetSummary::format() const
{
    std::ostringstream out;
    out << "Dataset " << root.string() << ": " << slides.size() << " slides (";
    bool first = true;
    for (const auto &[label, count] : slidesPerLabel) {
        out << (first ? "" : ", ") << count << ' ' << label;
        first = false;
    }
    out << "), " << openable << " open\n";
    out << std::left << std::setw(12) << "slide_id" << std::setw(10) << "label" << std::setw(16) << "size (px)" << std::setw(8) << "levels"
        << std::setw(10) << "mpp" << std::setw(6) << "mag" << std::setw(12) << "file"
        << "vendor\n";
    std::uint64_t totalBytes = 0;
    for (const SlideFacts &s : slides) {
        out << std::left << std::setw(12) << s.labels.slideId << std::setw(10) << s.labels.label;
        if (!s.error.empty()) {
            out << "ERROR: " << s.error << '\n';
            continue;
        }
        std::ostringstream size;
        size << s.width << 'x' << s.height;
        const std::string mpp = s.mpp ? formatFixed(*s.mpp, 3) : std::string("-");
        std::ostringstream mag;
        if (s.objectivePower)
            mag << *s.objectivePower << 'x';
        else
            mag << '-';
        out << std::setw(16) << size.str() << std::setw(8) << s.levelCount << std::setw(10) << mpp << std::setw(6) << mag.str()
            << std::setw(12) << humanBytes(s.fileBytes) << s.vendor << '\n';
        totalBytes += s.fileBytes;
    }
    out << "Total " << humanBytes(totalBytes) << " on disk\n";
    for (const LabelsIssue &issue : labelIssues)
        out << "labels.csv line " << issue.line << ": " << issue.message << '\n';
    return out.str();
}

} // namespace icmil::project
