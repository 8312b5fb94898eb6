// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace icmil::project {

struct FeatureImportOptions {
    // The feature width every imported file must have; 0 takes the width most files share.
    std::int64_t expectedDim = 0;
    // Replace files already in the destination (otherwise they are skipped and kept).
    bool overwrite = false;
    // Recorded as the encoder where a file does not name one; by default the <encoder> of a
    // TRIDENT features_<encoder>/ folder.
    std::string encoder;
    // Called after each file: (files done, files in all). From the calling thread.
    std::function<void(std::size_t, std::size_t)> progress;
    // Polled between files; when set, the import stops and the report says cancelled.
    const std::atomic_bool *cancel = nullptr;
};

struct FeatureImportEntry {
    std::filesystem::path source;
    std::filesystem::path destination; // where ours was written; empty when skipped
    std::string slideId;               // the source file name without ".h5"
    bool imported = false;
    std::string reason;       // why it was skipped: one sentence about this file
    std::int64_t count = 0;   // patches
    std::int64_t dim = 0;     // features per patch
    std::string sourceFormat; // "clam", "trident" or "icmil"; empty when unreadable
};

struct FeatureImportReport {
    std::filesystem::path scannedDirectory;  // the folder the .h5 files were found in
    std::int64_t dim = 0;                    // the feature width of the imported files
    std::vector<FeatureImportEntry> entries; // one per .h5 file, sorted by file name
    bool cancelled = false;

    std::size_t importedCount() const;
    std::size_t skippedCount() const;
};

// Imports a folder of per-slide feature files from CLAM (…/h5_files/<slide>.h5) or TRIDENT
// (…/<mag>x_<size>px_<overlap>px_overlap/features_<encoder>/<slide>.h5) into `destinationDir` as
// our files (<slide>.h5, both attribute sets, atomic writes).
//
// `sourceDir` may be the folder of .h5 files itself or its parent: a CLAM feature folder (with
// h5_files/) or a TRIDENT patching folder with exactly one features_<encoder>/ (with several,
// name the one you want). Every file is checked (readable, 'features' and 'coords' agree, at least
// one patch, the common feature width) and either imported or skipped with its reason; one bad
// file never stops the others. Throws ProjectError only when the folders themselves are unusable.
FeatureImportReport importFeatureDirectory(const std::filesystem::path &sourceDir, const std::filesystem::path &destinationDir,
                                           const FeatureImportOptions &options = {});

} // namespace icmil::project
