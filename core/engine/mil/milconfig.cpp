// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/mil/milconfig.h"

#include "common/asciicase.h"
#include "engine/engineerror.h"

namespace icmil::engine {

std::string milModelTypeName(MilModelType type)
{
    switch (type) {
    case MilModelType::Abmil: return "abmil";
    case MilModelType::MaxPool: return "maxpool";
    case MilModelType::Dtfd: return "dtfd";
    }
    return "unknown";
}

MilModelType parseMilModelType(const std::string &name)
{
    const std::string key = asciiLower(name);
    if (key == "abmil" || key == "ab-mil")
        return MilModelType::Abmil;
    if (key == "maxpool" || key == "max-pool")
        return MilModelType::MaxPool;
    if (key == "dtfd" || key == "dtfd-mil" || key == "dtfdmil")
        return MilModelType::Dtfd;
    throw EngineError("Unknown MIL model '" + name + "': expected abmil, maxpool or dtfd");
}

std::string dtfdDistillationName(DtfdDistillation distillation)
{
    switch (distillation) {
    case DtfdDistillation::Afs: return "AFS";
    case DtfdDistillation::MaxS: return "MaxS";
    case DtfdDistillation::MaxMinS: return "MaxMinS";
    }
    return "unknown";
}

DtfdDistillation parseDtfdDistillation(const std::string &name)
{
    const std::string key = asciiLower(name);
    if (key == "afs")
        return DtfdDistillation::Afs;
    if (key == "maxs")
        return DtfdDistillation::MaxS;
    if (key == "maxmins")
        return DtfdDistillation::MaxMinS;
    throw EngineError("Unknown DTFD distillation '" + name + "': expected AFS, MaxS or MaxMinS");
}

} // namespace icmil::engine
