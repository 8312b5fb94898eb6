// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Extraction shared by the ranks of a torch.distributed job (engine/distributed): each rank
// extracts its share of the slides (dataset/slideshare.h; each slide's files are written by one
// rank, atomically), then every rank gets the whole job's report.

#include "project/dataset/slidelist.h"
#include "project/features/extractionconfig.h"

#include <string>
#include <vector>

namespace icmil::engine {
class DistributedGroup;
}

namespace icmil::project {

// Every rank's report as one, on every rank: its slides in `allSlides`' order (a slide no rank
// reached, its rank cancelled first, is missing), cancelled when any rank was, the patches
// summed. `key` names this gathering in the job's store and must differ between calls. The time
// is this rank's, which includes waiting for the slowest.
ExtractionReport gatherExtractionReports(engine::DistributedGroup &group, const std::string &key, const ExtractionReport &mine,
                                         const std::vector<SlideEntry> &allSlides);

} // namespace icmil::project
