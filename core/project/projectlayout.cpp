// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/projectlayout.h"

#include <utility>

namespace icmil::project {

ProjectLayout::ProjectLayout(std::filesystem::path root) : m_root(std::move(root))
{ }

std::filesystem::path ProjectLayout::featuresDir(const std::string &encoder) const
{
    return m_root / "features" / folderName(encoder);
}

std::filesystem::path ProjectLayout::patchFile(const std::string &slideId) const
{
    return patchesDir() / (slideId + ".h5");
}

std::filesystem::path ProjectLayout::tissueMaskFile(const std::string &slideId) const
{
    return tissueDir() / (slideId + "_mask.png");
}

std::filesystem::path ProjectLayout::tissueGeoJsonFile(const std::string &slideId) const
{
    return tissueDir() / (slideId + ".geojson");
}

std::filesystem::path ProjectLayout::featureFile(const std::string &encoder, const std::string &slideId) const
{
    return featuresDir(encoder) / (slideId + ".h5");
}

std::filesystem::path ProjectLayout::runDir(const std::string &run) const
{
    return runsDir() / folderName(run);
}

std::filesystem::path ProjectLayout::attentionDir(const std::string &encoder, const std::string &run) const
{
    return featuresDir(encoder) / "attention" / folderName(run);
}

std::filesystem::path ProjectLayout::attentionFile(const std::string &encoder, const std::string &run, const std::string &slideId) const
{
    return attentionDir(encoder, run) / (slideId + ".h5");
}

std::string ProjectLayout::folderName(const std::string &encoder)
{
    std::string name;
    for (const char c : encoder) {
        const bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        name += safe ? c : '_';
    }
    if (name.empty() || name == "." || name == "..")
        name = "encoder";
    return name;
}

} // namespace icmil::project
