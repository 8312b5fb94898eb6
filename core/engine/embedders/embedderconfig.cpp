// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/embedderconfig.h"

namespace icmil::engine {

std::vector<std::string> builtInEmbedderNames()
{
    return {kResNet50TruncName, kTinyCnnName};
}

bool isBuiltInEmbedder(const std::string &name)
{
    return name == kResNet50TruncName || name == kTinyCnnName;
}

} // namespace icmil::engine
