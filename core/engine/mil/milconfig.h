// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Which bag classifier to build (milmodel.h builds it): plain settings and their names, no LibTorch,
// so that the layers above can hold and save them without loading it.

#include <cstdint>
#include <string>

namespace icmil::engine {

enum class MilModelType { Abmil, MaxPool, Dtfd };

// DTFD-MIL's feature distillation from each pseudo-bag into tier 2: AFS, the attention-weighted
// feature (the default, what the ICMIL reference uses); MaxS, the instance(s) with the highest
// tier-1 instance probability of the last class; MaxMinS, the highest and the lowest.
enum class DtfdDistillation { Afs, MaxS, MaxMinS };

std::string milModelTypeName(MilModelType type);         // "abmil", "maxpool", "dtfd"
MilModelType parseMilModelType(const std::string &name); // those, any case; also "ab-mil", "dtfd-mil", "max-pool"; EngineError otherwise
std::string dtfdDistillationName(DtfdDistillation distillation); // "AFS", "MaxS", "MaxMinS"
DtfdDistillation parseDtfdDistillation(const std::string &name);

struct MilModelConfig {
    MilModelType type = MilModelType::Abmil;
    std::int64_t inputDim = 1024; // D: follows the features (1024 for resnet50-trunc)
    std::int64_t embedDim = 512;  // the reference's mDim
    std::int64_t attentionDim = 128;
    int classes = 2;           // C >= 2
    int residualBlocks = 0;    // the reference's numLayer_Res
    double dropout = 0.0;      // before the classifier (droprate)
    double dropoutTier2 = 0.0; // before DTFD's tier-2 classifier (droprate_2)
    int pseudoBags = 5;        // DTFD numGroup
    DtfdDistillation distillation = DtfdDistillation::Afs;
    int distilledInstances = 4; // DTFD total_instance: MaxS keeps max(1, this / pseudoBags) per pseudo-bag
    std::uint64_t seed = 0;     // initial weights
    bool operator==(const MilModelConfig &) const = default;
};

} // namespace icmil::engine
