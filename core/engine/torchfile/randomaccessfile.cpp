// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/randomaccessfile.h"

#include "engine/engineerror.h"

#include <algorithm>
#include <limits>

namespace icmil::engine {

RandomAccessFile::RandomAccessFile(const std::filesystem::path &path) : m_stream(path, std::ios::binary)
{
    if (!m_stream)
        throw EngineError("the file cannot be opened");
    m_stream.seekg(0, std::ios::end);
    const std::streamoff end = m_stream.tellg();
    if (!m_stream || end < 0)
        throw EngineError("the file cannot be read");
    m_size = static_cast<std::uint64_t>(end);
}

void RandomAccessFile::read(std::uint64_t offset, void *destination, std::uint64_t count, const char *what) const
{
    if (!contains(offset, count))
        throw EngineError(std::string(what) + " lies beyond the end of the file (truncated?)");
    m_stream.clear();
    m_stream.seekg(static_cast<std::streamoff>(offset));
    auto *bytes = static_cast<char *>(destination);
    // In chunks: a single streamsize may be narrower than a huge count on some platforms.
    constexpr std::uint64_t kChunk = std::uint64_t{1} << 30;
    while (count > 0 && m_stream) {
        const std::uint64_t chunk = std::min(count, kChunk);
        m_stream.read(bytes, static_cast<std::streamsize>(chunk));
        bytes += chunk;
        count -= chunk;
    }
    if (!m_stream)
        throw EngineError(std::string("reading ") + what + " failed");
}

std::string RandomAccessFile::read(std::uint64_t offset, std::uint64_t count, const char *what) const
{
    if (!contains(offset, count))
        throw EngineError(std::string(what) + " lies beyond the end of the file (truncated?)");
    std::string bytes(static_cast<std::size_t>(count), '\0');
    read(offset, bytes.data(), count, what);
    return bytes;
}

} // namespace icmil::engine
