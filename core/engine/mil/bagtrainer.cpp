// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/mil/bagtrainer.h"

#include "engine/engineerror.h"
#include "engine/torchfile/statedictloader.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/string_utils.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>

#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

namespace icmil::engine {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// A seed for one epoch's draws that does not depend on earlier epochs (resume continues exactly).
std::uint64_t epochSeed(std::uint64_t seed, int epoch, std::uint64_t stream)
{
    std::seed_seq sequence{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32), static_cast<std::uint32_t>(epoch),
                           static_cast<std::uint32_t>(stream)};
    std::mt19937_64 generator(sequence);
    return generator();
}

// Fisher–Yates on std::mt19937_64 (std::shuffle's draws are implementation-defined).
std::vector<std::size_t> shuffledOrder(std::size_t count, std::uint64_t seed)
{
    std::vector<std::size_t> order(count);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::mt19937_64 generator(seed);
    for (std::size_t i = count; i > 1; --i) {
        const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % i;
        std::uint64_t draw = generator();
        while (draw >= limit)
            draw = generator();
        std::swap(order[i - 1], order[draw % i]);
    }
    return order;
}

std::string paramStateKey(const torch::Tensor &parameter)
{
    return c10::guts::to_string(parameter.unsafeGetTensorImpl()); // the key torch::optim::Adam uses
}

void checkBags(const MilModel &model, const std::vector<Bag> &bags, const char *role)
{
    for (const Bag &bag : bags) {
        if (bag.label < 0 || bag.label >= model.config().classes)
            throw EngineError(std::string("Training needs a label for every ") + role + " slide; '" + bag.id + "' has "
                              + (bag.label < 0 ? std::string("none") : "class " + std::to_string(bag.label)));
        checkBagFits(model, bag);
    }
}

} // namespace

struct BagTrainer::Optimisers {
    struct Group {
        std::vector<std::pair<std::string, torch::Tensor>> parameters; // state-dict key, tensor
        std::vector<std::vector<torch::Tensor>> clipSets;              // one per submodule
        std::unique_ptr<torch::optim::Adam> adam;
    };
    std::vector<Group> groups;
};

BagTrainer::BagTrainer(std::shared_ptr<MilModel> model, BagTrainerConfig config)
    : m_model(std::move(model)), m_config(std::move(config)), m_optimisers(std::make_unique<Optimisers>())
{
    if (!m_model)
        throw EngineError("BagTrainer needs a model");
    if (m_config.epochs < 1 || m_config.startEpoch < 0 || m_config.startEpoch > m_config.epochs)
        throw EngineError("Training needs at least 1 epoch and a start epoch within them");
    if (m_config.learningRate < 0.0 || m_config.weightDecay < 0.0 || !(m_config.lrDecay > 0.0))
        throw EngineError("Training needs a learning rate and weight decay >= 0 and a decay factor > 0");
    m_model->to(torch::Device(m_config.device));
    const auto children = m_model->named_children();
    for (const auto &submodules : m_model->optimiserGroups()) {
        Optimisers::Group group;
        std::vector<torch::Tensor> all;
        for (const std::string &name : submodules) {
            const auto *child = children.find(name);
            if (!child)
                continue;
            std::vector<torch::Tensor> own;
            for (const auto &parameter : (*child)->named_parameters()) {
                group.parameters.emplace_back(name + "." + parameter.key(), parameter.value());
                own.push_back(parameter.value());
                all.push_back(parameter.value());
            }
            if (!own.empty())
                group.clipSets.push_back(std::move(own));
        }
        if (all.empty())
            continue; // MaxPool's attention has no parameters
        group.adam
            = std::make_unique<torch::optim::Adam>(all, torch::optim::AdamOptions(baseLearningRate()).weight_decay(m_config.weightDecay));
        m_optimisers->groups.push_back(std::move(group));
    }
}

BagTrainer::~BagTrainer() = default;

double BagTrainer::baseLearningRate() const
{
    if (m_config.learningRate > 0.0)
        return m_config.learningRate;
    return m_model->config().type == MilModelType::Dtfd ? 1e-4 : 2e-4;
}

double BagTrainer::learningRateAt(int epoch) const
{
    std::vector<int> milestones = m_config.lrMilestones;
    if (milestones.empty() && !m_config.noSchedule && m_model->config().type == MilModelType::Dtfd)
        milestones.push_back(m_config.epochs / 2);
    double rate = baseLearningRate();
    if (!m_config.noSchedule)
        for (int milestone : milestones)
            if (milestone > 0 && epoch >= milestone)
                rate *= m_config.lrDecay;
    return rate;
}

StateDict BagTrainer::optimiserState() const
{
    StateDict state;
    for (std::size_t g = 0; g < m_optimisers->groups.size(); ++g) {
        const auto &group = m_optimisers->groups[g];
        const auto &adamState = group.adam->state();
        for (const auto &[key, parameter] : group.parameters) {
            const auto found = adamState.find(paramStateKey(parameter));
            if (found == adamState.end())
                continue;
            const auto &s = static_cast<const torch::optim::AdamParamState &>(*found->second);
            const std::string prefix = std::to_string(g) + "." + key + ".";
            state.insert(prefix + "step", torch::tensor(s.step(), torch::kLong));
            state.insert(prefix + "exp_avg", s.exp_avg().detach().to(torch::kCPU, false, true));
            state.insert(prefix + "exp_avg_sq", s.exp_avg_sq().detach().to(torch::kCPU, false, true));
        }
    }
    return state;
}

void BagTrainer::restoreOptimiser(const MilCheckpoint &checkpoint)
{
    for (std::size_t g = 0; g < m_optimisers->groups.size(); ++g) {
        auto &group = m_optimisers->groups[g];
        for (const auto &[key, parameter] : group.parameters) {
            const std::string prefix = std::to_string(g) + "." + key + ".";
            const torch::Tensor *step = checkpoint.optimizer.find(prefix + "step");
            const torch::Tensor *average = checkpoint.optimizer.find(prefix + "exp_avg");
            const torch::Tensor *square = checkpoint.optimizer.find(prefix + "exp_avg_sq");
            if (!step || !average || !square)
                continue; // no state yet for this parameter (never stepped)
            if (!average->sizes().equals(parameter.sizes()) || !square->sizes().equals(parameter.sizes()))
                throw EngineError("The checkpoint's optimiser state does not fit the model: " + key + " has another shape");
            auto state = std::make_unique<torch::optim::AdamParamState>();
            state->step(step->item<std::int64_t>());
            state->exp_avg(average->to(parameter.device(), parameter.scalar_type(), false, true));
            state->exp_avg_sq(square->to(parameter.device(), parameter.scalar_type(), false, true));
            group.adam->state()[paramStateKey(parameter)] = std::move(state);
        }
    }
}

TrainingResult BagTrainer::train(const std::vector<Bag> &train, const std::vector<Bag> &validation, const TrainingCallbacks &callbacks)
{
    if (train.empty())
        throw EngineError("Training needs at least one training slide");
    checkBags(*m_model, train, "training");
    checkBags(*m_model, validation, "validation");

    const Clock::time_point started = Clock::now();
    TrainingResult result;
    double bestAuc = -1.0;
    double bestLoss = std::numeric_limits<double>::infinity();
    int sinceBest = 0;
    const bool dtfd = m_model->config().type == MilModelType::Dtfd;
    const torch::Device device(m_config.device);

    for (int epoch = m_config.startEpoch; epoch < m_config.epochs; ++epoch) {
        const Clock::time_point epochStarted = Clock::now();
        EpochReport report;
        report.epoch = epoch;
        report.epochs = m_config.epochs;
        const double rate = learningRateAt(epoch);
        for (auto &group : m_optimisers->groups) {
            for (auto &parameterGroup : group.adam->param_groups())
                static_cast<torch::optim::AdamOptions &>(parameterGroup.options()).lr(rate);
            report.learningRates.push_back(rate);
        }

        torch::manual_seed(epochSeed(m_config.seed, epoch, 1)); // dropout, when configured
        at::Generator pseudoBags = at::make_generator<at::CPUGeneratorImpl>(epochSeed(m_config.seed, epoch, 2));
        const std::vector<std::size_t> order = shuffledOrder(train.size(), epochSeed(m_config.seed, epoch, 0));
        m_model->train();
        double lossSum = 0.0;
        double tier1Sum = 0.0;
        int done = 0;
        for (std::size_t index : order) {
            if (m_cancelled.load())
                break;
            const Bag &bag = train[index];
            const MilOutput output = m_model->forward(bag.features.to(device, torch::kFloat), pseudoBags);
            const torch::Tensor target = torch::full({1}, bag.label, torch::TensorOptions(torch::kLong).device(device));
            torch::Tensor loss = torch::nn::functional::cross_entropy(output.logits, target);
            torch::Tensor total = loss;
            torch::Tensor tier1;
            if (dtfd) {
                tier1 = torch::nn::functional::cross_entropy(output.tier1Logits, target.expand({output.tier1Logits.size(0)}));
                total = tier1 + loss; // tier 2's input is detached: the two gradients do not mix
            }
            const double lossValue = loss.item<double>();
            const double tier1Value = dtfd ? tier1.item<double>() : 0.0;
            if (!std::isfinite(lossValue) || !std::isfinite(tier1Value))
                throw EngineError("Training diverged: the loss of slide '" + bag.id + "' in epoch " + std::to_string(epoch + 1)
                                  + " is not finite; try a lower learning rate");
            for (auto &group : m_optimisers->groups)
                group.adam->zero_grad();
            total.backward();
            for (auto &group : m_optimisers->groups) {
                if (m_config.gradientClip > 0.0)
                    for (auto &set : group.clipSets)
                        torch::nn::utils::clip_grad_norm_(set, m_config.gradientClip);
                group.adam->step();
            }
            lossSum += lossValue;
            tier1Sum += tier1Value;
            ++done;
            if (callbacks.bagFinished)
                callbacks.bagFinished(epoch, done, static_cast<int>(order.size()), lossValue);
        }
        if (m_cancelled.load() && done < static_cast<int>(order.size())) {
            result.cancelled = true;
            break;
        }
        report.trainLoss = lossSum / std::max(1, done);
        report.tier1Loss = tier1Sum / std::max(1, done);

        // The best epoch: higher validation AUC; equal AUC and lower validation loss; with no
        // usable AUC (one class in validation) the lower loss; with no validation, the last.
        bool better = true;
        if (!validation.empty()) {
            const BagSetEvaluation evaluation = evaluateBags(*m_model, validation);
            report.hasValidation = true;
            report.valLoss = evaluation.loss;
            report.val = evaluation.metrics;
            const double auc = std::isnan(evaluation.metrics.auc) ? -1.0 : evaluation.metrics.auc;
            better = auc > bestAuc + 1e-12 || (std::abs(auc - bestAuc) <= 1e-12 && evaluation.loss < bestLoss);
            if (better) {
                bestAuc = auc;
                bestLoss = evaluation.loss;
            }
        }
        report.best = better;
        report.seconds = secondsSince(epochStarted);
        result.last = makeMilCheckpoint(*m_model);
        result.last.epoch = epoch;
        result.last.optimizer = optimiserState();
        result.last.optimizerLearningRates = report.learningRates;
        if (better) {
            result.best = result.last;
            result.bestEpoch = epoch;
            sinceBest = 0;
        } else {
            ++sinceBest;
        }
        result.history.push_back(report);
        if (callbacks.epochFinished)
            callbacks.epochFinished(report);
        if (m_config.earlyStoppingPatience > 0 && sinceBest >= m_config.earlyStoppingPatience && epoch + 1 < m_config.epochs) {
            result.stoppedEarly = true;
            break;
        }
    }

    if (result.bestEpoch >= 0)
        loadStateDict(*m_model, result.best.weights); // copies onto the model's device
    m_model->eval();
    result.seconds = secondsSince(started);
    return result;
}

} // namespace icmil::engine
