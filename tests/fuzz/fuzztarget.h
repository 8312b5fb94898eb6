// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// What the fuzz targets share: a scratch folder of this process for parsers that take a path.
// The folder is "icmil-fuzz-<pid>" in $ICMIL_FUZZ_SCRATCH, else in /dev/shm (a file on disk costs
// milliseconds per input), else in the system's temporary folder; it is removed when the process
// ends normally (a crash leaves it for a look).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace icmil::fuzz {

inline const std::filesystem::path &scratchFolder()
{
    struct Folder {
        std::filesystem::path path;
        Folder()
        {
            const char *base = std::getenv("ICMIL_FUZZ_SCRATCH");
            std::filesystem::path parent;
            if (base != nullptr && *base != '\0')
                parent = base;
            else if (::access("/dev/shm", W_OK) == 0)
                parent = "/dev/shm"; // memory: a file written and read per input, thousands a second
            else
                parent = std::filesystem::temp_directory_path();
            path = parent / ("icmil-fuzz-" + std::to_string(::getpid()));
            std::filesystem::create_directories(path);
        }
        ~Folder()
        {
            std::error_code error;
            std::filesystem::remove_all(path, error);
        }
    };
    static const Folder folder;
    return folder.path;
}

// Writes the input to scratchFolder()/name and returns its path.
inline std::filesystem::path writeScratchFile(const std::string &name, const std::uint8_t *data, std::size_t size)
{
    const std::filesystem::path path = scratchFolder() / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
    return path;
}

inline std::string asText(const std::uint8_t *data, std::size_t size)
{
    return std::string(reinterpret_cast<const char *>(data), size);
}

} // namespace icmil::fuzz
