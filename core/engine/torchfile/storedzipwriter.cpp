// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/storedzipwriter.h"

#include "engine/engineerror.h"
#include "engine/torchfile/storedziparchive.h"

#include <cstdint>
#include <limits>
#include <set>

namespace icmil::engine {

namespace {

void put(std::string &out, std::uint64_t value, int width)
{
    for (int i = 0; i < width; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// The fields a local header and a central directory entry share, from "version needed" to the
// extra field's length.
void putCommon(std::string &out, const StoredZipMember &member, std::uint32_t crc)
{
    put(out, 20, 2);     // version needed: 2.0
    put(out, 0x0800, 2); // flags: names in UTF-8
    put(out, 0, 2);      // stored
    put(out, 0, 2);      // time
    put(out, 0x21, 2);   // date: 1980-01-01
    put(out, crc, 4);
    put(out, member.bytes.size(), 4);
    put(out, member.bytes.size(), 4);
    put(out, member.name.size(), 2);
    put(out, 0, 2); // extra field
}

} // namespace

std::string makeStoredZip(const std::vector<StoredZipMember> &members)
{
    constexpr std::uint64_t kLimit = std::numeric_limits<std::uint32_t>::max();
    std::uint64_t total = 22;
    std::set<std::string> names;
    for (const StoredZipMember &member : members) {
        if (member.name.empty() || member.name.size() > 0xffff)
            throw EngineError("A ZIP member needs a name of 1 to 65535 bytes");
        if (!names.insert(member.name).second)
            throw EngineError("The ZIP archive would hold '" + member.name + "' twice");
        total += 30 + 46 + 2 * member.name.size() + member.bytes.size();
    }
    if (total >= kLimit || members.size() >= 0xffff)
        throw EngineError("The ZIP archive would be larger than 4 GiB");

    std::string out;
    out.reserve(static_cast<std::size_t>(total));
    std::string directory;
    for (const StoredZipMember &member : members) {
        const std::uint32_t crc = StoredZipArchive::crc32(member.bytes);
        const std::uint64_t offset = out.size();
        put(out, 0x04034b50, 4);
        putCommon(out, member, crc);
        out += member.name;
        out += member.bytes;

        put(directory, 0x02014b50, 4);
        put(directory, 0x031e, 2); // made by: Unix, 3.0
        putCommon(directory, member, crc);
        put(directory, 0, 2);              // comment
        put(directory, 0, 2);              // disk
        put(directory, 0, 2);              // internal attributes
        put(directory, 0100644u << 16, 4); // external: a regular file, rw-r--r--
        put(directory, offset, 4);
        directory += member.name;
    }
    const std::uint64_t directoryOffset = out.size();
    out += directory;
    put(out, 0x06054b50, 4);
    put(out, 0, 2);
    put(out, 0, 2);
    put(out, members.size(), 2);
    put(out, members.size(), 2);
    put(out, directory.size(), 4);
    put(out, directoryOffset, 4);
    put(out, 0, 2);
    return out;
}

} // namespace icmil::engine
