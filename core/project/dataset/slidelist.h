// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace icmil::project {

struct SlideEntry {
    std::string slideId; // the file name without its extension (CLAM's slide_id)
    std::filesystem::path path;
};

struct SlideListing {
    std::vector<SlideEntry> slides;    // in labels.csv order, else by file name
    std::vector<std::string> problems; // one sentence each: a labels.csv row without a slide file, ...
};

// The slides a command works on. `location` is one slide file; or a dataset folder with a
// labels.csv (CLAM layout: every row whose slide file is found in <dir>/slides or <dir>); or a
// folder of slide files (<dir>/slides when it exists, else <dir>), recognised by extension.
// Throws ProjectError when `location` does not exist or its labels.csv cannot be read.
SlideListing listSlides(const std::filesystem::path &location);

// The slide file for a slide_id: <root>/slides/<slide_id>.* (first match in name order), else
// <root>/<slide_id>.*; empty when there is none.
std::filesystem::path findSlideFile(const std::filesystem::path &root, const std::string &slideId);

// Why a slide file cannot be used, in one sentence ("Cannot open 'x': ..."), or empty when it
// opens and a small region of its coarsest level decodes (catching a file cut short or damaged
// beyond its header, cheaply: one read of at most 256 x 256 pixels).
std::string slideReadProblem(const std::filesystem::path &path);

// slideReadProblem remembered per file (path, size and modification time): asking again about an
// unchanged file does not open it again. Thread-safe. `probe`: the check itself (tests count it).
class SlideReadCache {
public:
    using Probe = std::function<std::string(const std::filesystem::path &)>;
    explicit SlideReadCache(Probe probe = slideReadProblem);
    std::string problem(const std::filesystem::path &path);

private:
    struct Entry {
        std::uintmax_t size = 0;
        std::filesystem::file_time_type modified{};
        std::string problem;
    };
    Probe m_probe;
    std::mutex m_mutex;
    std::map<std::filesystem::path, Entry> m_entries;
};

// Whether a file name has an extension of a slide or image format we can open.
bool hasSlideExtension(const std::filesystem::path &path);

} // namespace icmil::project
