// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The ICMIL loop's defaults, in one place: every setting as `icmil run --project P` uses it when
// no option changes it. The CLI's option structs (app/cli/commands.h) take their defaults from
// here, the app's training panel starts from here (ui::TrainingSettings), and the demo writes its
// recipe over it (applyDemoRecipe in project/demorecipe.h). tests/ui/training/tst_trainingsettings
// checks that the panel's untouched settings and `icmil run`'s are the same loop.

#include "project/loop/icmilloopconfig.h"

namespace icmil::project {

// tiny-cnn (random, its batch norm calibrated on 2000 patches), CLAM's tissue preset "default",
// 256-px patches at 20x with 25% tissue, extraction batches of 64; ABMIL 512/128 at the
// reference's learning rate, 200 epochs, seed 1, split 0.8/0.1/0.1 (a CSV's split column wins);
// K = 2 rounds of 5 fine-tuning epochs of 10000 patches at 1e-5, batches of 100, batch norm frozen.
const IcmilLoopConfig &loopDefaults();

} // namespace icmil::project
