#include "project/atomicfile.h"

#include "project/projecterror.h"
#include "slide/io/partialfile.h"

#include <stdexcept>

namespace icmil::project {

void writeFileAtomically(const std::filesystem::path &path, std::string_view contents)
{
    // One implementation of "temp file, fsync, rename" in the house: the slide room's.
    try {
        slide::PartialFile file(path);
        file.write(contents);
        file.commit();
    } catch (const std::runtime_error &e) {
        throw ProjectError("Cannot write '" + path.string() + "': " + e.what());
    }
}

} // namespace icmil::project
