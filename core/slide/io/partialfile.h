#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace icmil::slide {

// An output written atomically: the data goes to "<final>.partial", which commit() fsyncs and
// renames over the final path. Until then the final path is untouched; if the object goes away
// uncommitted (error, cancel) the partial file is removed.
// Errors throw std::runtime_error whose message is the cause only.
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
    // Writes the whole partial file at once and fsyncs it (for small outputs).
    void write(std::string_view bytes);
    // Renames the (already complete and synced) partial file to the final path.
    void commit();

private:
    std::filesystem::path m_finalPath;
    std::filesystem::path m_partialPath;
    bool m_committed = false;
};

} // namespace icmil::slide
