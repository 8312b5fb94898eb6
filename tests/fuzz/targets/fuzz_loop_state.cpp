// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: the ICMIL loop's saved state (icmil/<name>/state.json, readLoopState) and the
// settings it records (loopConfigFromSettings, loopSettingsChanges: what resume reads), and a
// folds aggregate (readFoldsAggregate) on the same bytes. ProjectError is the documented outcome.

#include "fuzztarget.h"
#include "project/loop/foldaggregate.h"
#include "project/loop/icmilloopconfig.h"
#include "project/loop/icmilloopstate.h"
#include "project/projecterror.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const auto path = icmil::fuzz::writeScratchFile("state.json", data, size);
    try {
        const icmil::project::LoopState state = icmil::project::readLoopState(path);
        const icmil::project::IcmilLoopConfig config = icmil::project::loopConfigFromSettings(state.settings, {});
        (void)icmil::project::loopSettingsChanges(state.settings, icmil::project::loopSettingsJson(config));
    } catch (const icmil::project::ProjectError &) { }
    try {
        (void)icmil::project::readFoldsAggregate(path);
    } catch (const icmil::project::ProjectError &) { }
    return 0;
}
