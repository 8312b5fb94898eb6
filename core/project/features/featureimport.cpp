// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/features/featureimport.h"

#include "project/features/featurestore.h"
#include "project/projecterror.h"

#include <algorithm>
#include <map>
#include <system_error>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

const std::string kTridentPrefix = "features_";

std::vector<fs::path> h5FilesIn(const fs::path &dir)
{
    std::vector<fs::path> files;
    std::error_code error;
    for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
        if (it->path().extension() == ".h5" && it->is_regular_file(error))
            files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

std::string folderName(const fs::path &dir)
{
    const fs::path normal = dir.lexically_normal();
    return (normal.has_filename() ? normal : normal.parent_path()).filename().string();
}

std::string tridentEncoder(const fs::path &dir)
{
    const std::string name = folderName(dir);
    return name.rfind(kTridentPrefix, 0) == 0 ? name.substr(kTridentPrefix.size()) : std::string();
}

// The folder holding the .h5 files: `sourceDir` itself, its h5_files/ (CLAM), or its only
// features_<encoder>/ (TRIDENT).
fs::path resolveSource(const fs::path &sourceDir)
{
    const std::string prefix = "Cannot import features from '" + sourceDir.string() + "': ";
    std::error_code error;
    if (!fs::exists(sourceDir, error))
        throw ProjectError(prefix + "no such folder");
    if (!fs::is_directory(sourceDir, error))
        throw ProjectError(prefix + "it is not a folder");
    if (!h5FilesIn(sourceDir).empty())
        return sourceDir;
    if (const fs::path clam = sourceDir / "h5_files"; fs::is_directory(clam, error) && !h5FilesIn(clam).empty())
        return clam;
    std::vector<fs::path> trident;
    for (fs::directory_iterator it(sourceDir, error), end; !error && it != end; it.increment(error)) {
        if (it->is_directory(error) && it->path().filename().string().rfind(kTridentPrefix, 0) == 0 && !h5FilesIn(it->path()).empty())
            trident.push_back(it->path());
    }
    std::sort(trident.begin(), trident.end());
    if (trident.size() == 1)
        return trident.front();
    if (trident.size() > 1) {
        std::string names;
        for (const fs::path &dir : trident)
            names += (names.empty() ? "" : ", ") + dir.filename().string();
        throw ProjectError(prefix + "it holds several feature folders (" + names + "); choose one");
    }
    throw ProjectError(prefix + "it holds no .h5 files, nor an h5_files/ or features_<encoder>/ folder with some");
}

// The feature width most files share (the smallest on a tie), 0 when none is readable.
std::int64_t commonDim(const std::vector<FeatureImportEntry> &entries)
{
    std::map<std::int64_t, std::size_t> votes;
    for (const FeatureImportEntry &entry : entries) {
        if (entry.reason.empty() && entry.count > 0)
            ++votes[entry.dim];
    }
    std::int64_t best = 0;
    std::size_t bestVotes = 0;
    for (const auto &[dim, count] : votes) {
        if (count > bestVotes) {
            best = dim;
            bestVotes = count;
        }
    }
    return best;
}

} // namespace

std::size_t FeatureImportReport::importedCount() const
{
    return static_cast<std::size_t>(std::count_if(entries.begin(), entries.end(), [](const FeatureImportEntry &e) { return e.imported; }));
}

std::size_t FeatureImportReport::skippedCount() const
{
    return entries.size() - importedCount();
}

FeatureImportReport importFeatureDirectory(const fs::path &sourceDir, const fs::path &destinationDir, const FeatureImportOptions &options)
{
    FeatureImportReport report;
    report.scannedDirectory = resolveSource(sourceDir);

    std::error_code error;
    fs::create_directories(destinationDir, error);
    if (error)
        throw ProjectError("Cannot import features into '" + destinationDir.string() + "': " + error.message());
    if (fs::equivalent(report.scannedDirectory, destinationDir, error))
        throw ProjectError("Cannot import features from '" + report.scannedDirectory.string() + "': it is the destination folder itself");
    const std::string encoder = options.encoder.empty() ? tridentEncoder(report.scannedDirectory) : options.encoder;

    // Pass 1: shapes and attributes only, to agree on the feature width before writing anything.
    for (const fs::path &source : h5FilesIn(report.scannedDirectory)) {
        FeatureImportEntry entry;
        entry.source = source;
        entry.slideId = source.stem().string();
        try {
            const FeatureFileSummary summary = describeFeatureFile(source);
            entry.count = summary.count;
            entry.dim = summary.dim;
            entry.sourceFormat = summary.attributes.sourceFormat;
        } catch (const ProjectError &e) {
            entry.reason = e.what();
        }
        report.entries.push_back(std::move(entry));
    }
    report.dim = options.expectedDim > 0 ? options.expectedDim : commonDim(report.entries);
    const std::string dimOwner = options.expectedDim > 0 ? "the project expects " : "the others have ";

    // Pass 2: check, read and write each file on its own.
    const std::size_t total = report.entries.size();
    for (std::size_t i = 0; i < total; ++i) {
        if (options.cancel != nullptr && options.cancel->load()) {
            report.entries.resize(i);
            report.cancelled = true;
            break;
        }
        FeatureImportEntry &entry = report.entries[i];
        const std::string quoted = "'" + entry.source.string() + "'";
        const fs::path destination = destinationDir / (entry.slideId + ".h5");
        if (!entry.reason.empty()) {
            // unreadable: the reason is already there
        } else if (entry.count < 1) {
            entry.reason = quoted + " has no patches";
        } else if (entry.dim != report.dim) {
            entry.reason = quoted + " has " + std::to_string(entry.dim) + " features per patch; " + dimOwner + std::to_string(report.dim);
        } else if (!options.overwrite && fs::exists(destination, error)) {
            entry.reason = "'" + destination.string() + "' already exists";
        } else {
            try {
                SlideFeatures slide = readFeatureFile(entry.source);
                slide.slideId = entry.slideId; // what CLAM's and TRIDENT's CSVs call the slide
                if (slide.attributes.encoder.empty())
                    slide.attributes.encoder = encoder;
                writeFeatureFile(destination, slide);
                entry.destination = destination;
                entry.imported = true;
            } catch (const ProjectError &e) {
                entry.reason = e.what();
            }
        }
        if (options.progress)
            options.progress(i + 1, total);
    }
    return report;
}

} // namespace icmil::project
