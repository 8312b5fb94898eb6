// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Training a bag classifier as the ICMIL reference does (step1_train_classifier_*.py): one bag per
// step, bags shuffled every epoch, cross-entropy, Adam, the gradient norm clipped per submodule,
// validation after every epoch, the best epoch by validation AUC kept. DTFD-MIL trains its two
// tiers with two Adam optimisers (tier 1 on the pseudo-bag losses, tier 2 on the slide loss).
// CPU runs are deterministic for a seed: the shuffle and DTFD's pseudo-bags are drawn from
// generators seeded by (seed, epoch), so a run resumed at an epoch continues exactly.

#include "engine/mil/bagevaluation.h"
#include "engine/mil/bagtrainerconfig.h"
#include "engine/mil/milcheckpoint.h"
#include "engine/mil/milmodel.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace icmil::engine {

struct TrainingCallbacks {
    std::function<void(const EpochReport &)> epochFinished;
    // After every bag: epoch (0-based), bags done in this epoch, bags per epoch, this bag's loss.
    std::function<void(int epoch, int bag, int bags, double loss)> bagFinished;
};

struct TrainingResult {
    std::vector<EpochReport> history;
    int bestEpoch = -1;
    MilCheckpoint best; // weights and optimiser state after the best epoch (model config set)
    MilCheckpoint last; // after the last epoch run, for resuming
    bool cancelled = false;
    bool stoppedEarly = false;
    double seconds = 0.0;
};

class BagTrainer {
public:
    BagTrainer(std::shared_ptr<MilModel> model, BagTrainerConfig config);
    ~BagTrainer();

    // The learning rates in effect: config.learningRate or the reference's default.
    double baseLearningRate() const;

    // Restores Adam's state from a checkpoint written after an earlier run (resume). Throws
    // EngineError when it was written for another model shape.
    void restoreOptimiser(const MilCheckpoint &checkpoint);

    // Trains on `train` (at least one bag, all labelled), validating on `validation` after every
    // epoch (may be empty: then the last epoch counts as the best). The model is left holding the
    // best epoch's weights. Throws EngineError for unlabelled bags, a feature width the model does
    // not take, or a loss that is not finite ("Training diverged: ..."). Cancellation is polled
    // between bags; it returns with cancelled = true and the best weights so far.
    TrainingResult train(const std::vector<Bag> &train, const std::vector<Bag> &validation, const TrainingCallbacks &callbacks = {});

    // Thread-safe; answered within one bag. A cancelled trainer stays cancelled (also when
    // cancel() comes before train()).
    void cancel() { m_cancelled.store(true); }

private:
    struct Optimisers;
    double learningRateAt(int epoch) const;
    StateDict optimiserState() const;

    std::shared_ptr<MilModel> m_model;
    BagTrainerConfig m_config;
    std::unique_ptr<Optimisers> m_optimisers;
    std::atomic_bool m_cancelled{false};
};

} // namespace icmil::engine
