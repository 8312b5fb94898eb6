// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/loop/embedderfinetuning.h"

#include "engine/distributed/distributedgroup.h"
#include "engine/runtime/runtime.h"
#include "project/projectlayout.h"
#include "project/features/slidestain.h"
#include "project/features/tissuepatchpool.h"
#include "project/projecterror.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>

namespace icmil::project {

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::uint64_t epochSeed(std::uint64_t seed, int epoch)
{
    return seed * 0x9E3779B97F4A7C15ull + static_cast<std::uint64_t>(epoch) + 1;
}

// One rank's shares of the global batches of `samples` (batches of `batchSize` in order): rows
// [size * rank / ranks, size * (rank + 1) / ranks) of each, the reader's batch ends, and each
// share's place in its batch.
struct RankShares {
    std::vector<PatchSample> samples;
    std::vector<std::int64_t> batchEnds;
    std::vector<engine::BatchShard> shards;
};

RankShares rankShares(const std::vector<PatchSample> &samples, int batchSize, int rank, int ranks)
{
    RankShares shares;
    const auto total = static_cast<std::int64_t>(samples.size());
    for (std::int64_t start = 0; start < total; start += batchSize) {
        const std::int64_t size = std::min<std::int64_t>(batchSize, total - start);
        const std::int64_t low = size * rank / ranks;
        const std::int64_t high = size * (rank + 1) / ranks;
        shares.samples.insert(shares.samples.end(), samples.begin() + start + low, samples.begin() + start + high);
        shares.batchEnds.push_back(static_cast<std::int64_t>(shares.samples.size()));
        shares.shards.push_back({size, low});
    }
    return shares;
}

} // namespace

EmbedderFineTuning::EmbedderFineTuning(FineTuningConfig config, const engine::Embedder &embedder, const engine::MilModel &classifier,
                                       engine::DistributedGroup *group)
    : m_config(std::move(config)), m_group(group), m_distiller(embedder, classifier, m_config.distillation, group)
{ }

EmbedderFineTuning::~EmbedderFineTuning() = default;

FineTuningResult EmbedderFineTuning::run(const FineTuningEvents &events)
{
    const Clock::time_point start = Clock::now();
    FineTuningResult result;
    result.batchSize = std::max(1, m_config.batchSize);
    if (m_config.slides.empty())
        throw ProjectError("Fine-tuning needs at least one training slide");
    if (m_config.epochs < 1 || m_config.patchesPerEpoch < 1 || !(m_config.validationFraction > 0.0 && m_config.validationFraction < 1.0))
        throw ProjectError("Fine-tuning needs at least 1 epoch, 1 patch per epoch and a validation fraction between 0 and 1");

    Clock::time_point lastReport{};
    auto report = [&](FineTuningProgress progress, bool force) {
        if (!events.progress)
            return;
        const Clock::time_point now = Clock::now();
        if (!force && now - lastReport < std::chrono::milliseconds(100))
            return;
        lastReport = now;
        progress.epochs = m_config.epochs;
        events.progress(progress);
    };
    auto say = [&](const std::string &text) {
        if (events.message)
            events.message(text);
    };

    // The patch pool: every tissue patch of every training slide, shuffled once; a fixed share
    // is held out for validation. With several ranks, rank 0 tiles first (writing any missing
    // patch grid) and the others then read its grids.
    const bool firstRank = !m_group || m_group->rank() == 0;
    if (!firstRank)
        m_group->barrier("fine-tuning patch grids");
    const TissuePatchPool pool
        = collectTissuePatches(ProjectLayout(m_config.projectRoot), m_config.tiling, m_config.slides, [&](std::size_t i) {
              report({"sampling", 0, 0, static_cast<std::int64_t>(i), static_cast<std::int64_t>(m_config.slides.size())}, false);
              return !m_cancelled;
          });
    if (firstRank && m_group)
        m_group->barrier("fine-tuning patch grids");
    if (m_cancelled) {
        result.cancelled = true;
        return result;
    }
    const int inputSize = m_distiller.student().inputSize();
    const torch::Device device = m_distiller.student().device();
    // Each training slide's stain, estimated as extraction estimates it.
    const PoolStainMaps stain(m_config.stain, pool, inputSize, [&](std::size_t i) {
        report({"estimating stain", 0, 0, static_cast<std::int64_t>(i), static_cast<std::int64_t>(pool.slides.size())}, false);
        return !m_cancelled;
    });
    if (m_cancelled) {
        result.cancelled = true;
        return result;
    }
    if (!stain.failures().empty()) // extraction could not estimate it either: not a training slide
        throw ProjectError(stain.failures().front().second);
    // Each pool slide's known instance class (-1: the teacher's prediction), when any is known.
    torch::Tensor knownClass;
    if (m_config.negativeClass >= 0 && !m_config.negativeSlides.empty()) {
        const std::set<std::string> negative(m_config.negativeSlides.begin(), m_config.negativeSlides.end());
        knownClass = torch::full({static_cast<std::int64_t>(pool.slides.size())}, -1, torch::kLong);
        for (std::size_t i = 0; i < pool.slides.size() && i < m_config.slides.size(); ++i)
            if (negative.count(m_config.slides[i].slideId) != 0)
                knownClass[static_cast<std::int64_t>(i)] = m_config.negativeClass;
    }
    std::vector<PatchSample> training = pool.samples;
    std::vector<PatchSample> validation;
    if (training.size() < 2)
        throw ProjectError("Fine-tuning needs at least 2 tissue patches in the training slides, found " + std::to_string(training.size())
                           + ": " + pool.noPatchesAdvice(m_config.tiling));
    shuffleSamples(training, m_config.seed);
    const auto total = static_cast<std::int64_t>(training.size());
    const std::int64_t held = std::clamp<std::int64_t>(std::llround(m_config.validationFraction * static_cast<double>(total)), 1,
                                                       std::min(std::max<std::int64_t>(1, m_config.maxValidationPatches), total - 1));
    validation.assign(training.begin(), training.begin() + held);
    training.erase(training.begin(), training.begin() + held);
    result.trainingPatches = static_cast<std::int64_t>(training.size());
    result.validationPatches = held;

    const int threads = m_config.readerThreads > 0 ? m_config.readerThreads : std::max(1u, std::thread::hardware_concurrency());
    const std::int64_t perEpoch = std::min(m_config.patchesPerEpoch, result.trainingPatches);
    std::int64_t trainedPatches = 0;
    double validationSeconds = 0.0;

    // Runs `work` on `patches` in chunks of result.batchSize, halving it when the device runs
    // out of memory (the step that failed changed no weights, so it is simply retried).
    auto inChunks = [&](const torch::Tensor &patches, const std::function<void(const torch::Tensor &, std::int64_t)> &work) {
        if (m_group) { // every rank takes one step per global batch
            work(patches, 0);
            return;
        }
        engine::runInChunks(
            patches.size(0), result.batchSize,
            [&](std::int64_t offset, std::int64_t size) { work(patches.slice(0, offset, offset + size), offset); },
            [&](int chunk) {
                say("Out of memory on " + m_distiller.student().device().str() + ": continuing with " + std::to_string(chunk)
                    + " patches per step");
            });
    };

    auto validate = [&]() -> std::optional<engine::DistillationAgreement> {
        const Clock::time_point began = Clock::now();
        at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(m_config.distillation.seed ^ 0x5EEDull);
        engine::DistillationAgreement agreement;
        RankShares shares = m_group ? rankShares(validation, result.batchSize, m_group->rank(), m_group->worldSize()) : RankShares{};
        PatchSampleReader reader(pool.slides, m_group ? std::move(shares.samples) : validation, inputSize,
                                 {result.batchSize, threads, m_config.batchesAhead, std::move(shares.batchEnds)});
        std::size_t index = 0;
        while (std::optional<PatchSampleReader::Batch> batch = reader.next()) {
            if (m_cancelled)
                return std::nullopt;
            const engine::BatchShard shard = m_group ? shares.shards[index] : engine::BatchShard{};
            ++index;
            inChunks(stain.apply(*batch, device),
                     [&](const torch::Tensor &chunk, std::int64_t) { m_distiller.evaluate(chunk, generator, agreement, shard); });
            report({"validating", 0, 0, agreement.patches, held}, false);
        }
        m_distiller.reduceAgreement(agreement);
        validationSeconds += secondsSince(began);
        return agreement;
    };

    const std::optional<engine::DistillationAgreement> initial = validate();
    if (!initial) {
        result.cancelled = true;
        return result;
    }
    result.initialMae = initial->meanAbsoluteError();

    for (int epoch = 0; epoch < m_config.epochs; ++epoch) {
        const Clock::time_point epochStart = Clock::now();
        std::vector<PatchSample> drawn = training;
        shuffleSamples(drawn, epochSeed(m_config.seed, epoch));
        drawn.resize(static_cast<std::size_t>(perEpoch));

        FineTuningEpoch record;
        record.epoch = epoch;
        int steps = 0;
        const Clock::time_point trainingStart = Clock::now();
        RankShares shares = m_group ? rankShares(drawn, result.batchSize, m_group->rank(), m_group->worldSize()) : RankShares{};
        PatchSampleReader reader(pool.slides, m_group ? std::move(shares.samples) : std::move(drawn), inputSize,
                                 {result.batchSize, threads, m_config.batchesAhead, std::move(shares.batchEnds)});
        std::size_t index = 0;
        while (std::optional<PatchSampleReader::Batch> batch = reader.next()) {
            if (m_cancelled) {
                result.cancelled = true;
                result.seconds = secondsSince(start);
                return result;
            }
            const engine::BatchShard shard = m_group ? shares.shards[index] : engine::BatchShard{};
            ++index;
            const torch::Tensor known = knownClass.defined() ? knownClass.index_select(0, batch->slides) : torch::Tensor();
            inChunks(stain.apply(*batch, device), [&](const torch::Tensor &chunk, std::int64_t offset) {
                const engine::DistillationLosses losses
                    = m_distiller.step(chunk, known.defined() ? known.slice(0, offset, offset + chunk.size(0)) : torch::Tensor(), shard);
                record.loss.total += losses.total;
                record.loss.student += losses.student;
                record.loss.consistency += losses.consistency;
                record.loss.embedding += losses.embedding;
                ++steps;
            });
            const std::int64_t batchPatches = shard.total(batch->patches.size(0)); // the global batch's
            record.patches += batchPatches;
            trainedPatches += batchPatches;

            FineTuningProgress progress{"training", epoch, 0, record.patches, perEpoch};
            progress.loss = record.loss.total / std::max(1, steps);
            const double elapsed = secondsSince(start);
            progress.patchesPerSecond = static_cast<double>(trainedPatches) / std::max(1e-9, elapsed - validationSeconds);
            const double remaining = static_cast<double>(perEpoch * m_config.epochs - trainedPatches);
            progress.etaSeconds
                = remaining / std::max(1e-9, progress.patchesPerSecond) + validationSeconds * (m_config.epochs - epoch) / (epoch + 1.0);
            report(progress, false);
        }
        if (steps > 0) {
            record.loss.total /= steps;
            record.loss.student /= steps;
            record.loss.consistency /= steps;
            record.loss.embedding /= steps;
        }
        // Wall time of the epoch's training, reading included (validation excluded).
        record.patchesPerSecond = static_cast<double>(record.patches) / std::max(1e-9, secondsSince(trainingStart));

        const std::optional<engine::DistillationAgreement> agreement = validate();
        if (!agreement) {
            result.cancelled = true;
            result.seconds = secondsSince(start);
            return result;
        }
        record.validationMae = agreement->meanAbsoluteError();
        record.validationAccuracy = agreement->accuracy();
        record.best = result.bestEpoch < 0 || record.validationMae < result.bestMae;
        if (record.best) {
            result.bestEpoch = epoch;
            result.bestMae = record.validationMae;
            if (!m_group || m_group->rank() == 0) {
                std::filesystem::create_directories(m_config.output.parent_path());
                m_distiller.student().save(m_config.output);
            }
        }
        if (m_group) // the others read the best student only once rank 0 has written it
            m_group->barrier("fine-tuning epoch " + std::to_string(epoch + 1) + " written");
        record.seconds = secondsSince(epochStart);
        result.history.push_back(record);
        if (events.epochFinished)
            events.epochFinished(record);
        FineTuningProgress done{"training", epoch, 0, record.patches, perEpoch};
        done.loss = record.loss.total;
        report(done, true);
    }
    result.seconds = secondsSince(start);
    return result;
}

} // namespace icmil::project
