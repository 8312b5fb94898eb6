// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <filesystem>
#include <string_view>

namespace icmil {

// The one way the code base writes a file a user cares about (docs/ARCHITECTURE.md, "Files"): the
// data goes to "<final>.partial", which is fsynced; commit() renames it over the final path and
// fsyncs the directory, so that the rename itself survives a crash. Until then the final path is
// untouched; if the object goes away uncommitted (error, cancel) the partial file is removed.
// Errors throw std::runtime_error whose message is the cause only ("No space left on device").
class PartialFile {
public:
    explicit PartialFile(std::filesystem::path finalPath);
    ~PartialFile();
    PartialFile(const PartialFile &) = delete;
    PartialFile &operator=(const PartialFile &) = delete;

    const std::filesystem::path &finalPath() const { return m_finalPath; }
    const std::filesystem::path &partialPath() const { return m_partialPath; }

    // Creates the partial file empty, so an unwritable location fails before any long work.
    void touch();
    // Writes the whole partial file at once and fsyncs it (for outputs built in memory).
    void write(std::string_view bytes);
    // Renames the (already complete and synced) partial file to the final path.
    void commit();

private:
    std::filesystem::path m_finalPath;
    std::filesystem::path m_partialPath;
    bool m_committed = false;
};

// For a process about to end at once (std::_Exit) while writers may still run: removes every
// partial file of this process not yet committed or discarded, and from then on no PartialFile
// creates, writes or commits a file (each throws instead). What was committed stays: the state a
// SIGKILL at this moment would leave, less the half-written files.
void abandonPartialFiles();

// PartialFile for bytes already in memory: write, fsync, rename, fsync the directory. Throws
// std::runtime_error "Cannot write '<path>': <cause>"; each layer rethrows it as its own error type.
void writeFileAtomically(const std::filesystem::path &path, std::string_view bytes);

} // namespace icmil
