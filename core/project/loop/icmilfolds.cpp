// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/loop/icmilfolds.h"

#include "project/projecterror.h"
#include "project/projectlayout.h"

#include <chrono>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// The fold's loop events, passing the fold on; unset ones stay unset (the loop skips them).
IcmilLoopEvents eventsOfFold(const FoldedIcmilLoopEvents &events, int fold)
{
    IcmilLoopEvents loop;
    if (events.progress)
        loop.progress = [&events, fold](const LoopProgress &p) { events.progress(fold, p); };
    if (events.message)
        loop.message = [&events, fold](const std::string &text) { events.message(fold, text); };
    if (events.epochFinished)
        loop.epochFinished = [&events, fold](int k, const engine::EpochReport &r) { events.epochFinished(fold, k, r); };
    if (events.fineTuningEpochFinished)
        loop.fineTuningEpochFinished = [&events, fold](int k, const FineTuningEpoch &e) { events.fineTuningEpochFinished(fold, k, e); };
    if (events.phaseFinished)
        loop.phaseFinished = [&events, fold](int k, const std::string &phase) { events.phaseFinished(fold, k, phase); };
    if (events.iterationFinished)
        loop.iterationFinished = [&events, fold](const IterationSummary &it) { events.iterationFinished(fold, it); };
    return loop;
}

} // namespace

FoldedIcmilLoop::FoldedIcmilLoop(FoldedIcmilLoopConfig config) : m_config(std::move(config))
{ }

std::string FoldedIcmilLoop::foldLoopName(const std::string &name, int fold)
{
    return name + "-fold" + std::to_string(fold);
}

std::string FoldedIcmilLoop::sharedEncoderName(const std::string &name)
{
    return name + "-folds-it0";
}

IcmilLoopConfig FoldedIcmilLoop::foldConfig(int fold) const
{
    IcmilLoopConfig config = m_config.loop;
    config.name = foldLoopName(m_config.loop.name, fold);
    config.split.folds = m_config.folds;
    config.split.fold = fold;
    config.iteration0Encoder = m_config.shareIteration0 ? sharedEncoderName(m_config.loop.name) : std::string();
    return config;
}

void FoldedIcmilLoop::cancel()
{
    m_cancelled = true;
    const std::lock_guard lock(m_currentMutex);
    if (m_current)
        m_current->cancel();
}

FoldedIcmilLoopResult FoldedIcmilLoop::run(const FoldedIcmilLoopEvents &events)
{
    const Clock::time_point start = Clock::now();
    const IcmilLoopConfig &base = m_config.loop;
    if (m_config.folds < 2)
        throw ProjectError("The ICMIL loop on folds needs at least 2 folds, not " + std::to_string(m_config.folds));
    if (base.name.empty() || ProjectLayout::folderName(base.name) != base.name)
        throw ProjectError("'" + base.name + "' cannot name an ICMIL loop: use letters, digits, '-', '_' and '.'");

    FoldedIcmilLoopResult result;
    result.aggregateJson = foldsAggregateJsonPath(base.projectRoot, base.name);
    result.aggregateCsv = foldsAggregateCsvPath(base.projectRoot, base.name);
    FoldsAggregate aggregate;
    aggregate.name = base.name;
    aggregate.folds = m_config.folds;
    for (int fold = 0; fold < m_config.folds; ++fold)
        aggregate.loops.push_back(foldLoopName(base.name, fold));
    if (base.overwrite && m_config.shareIteration0) {
        // The folds' own outputs go when each fold starts again; the shared features only here, once.
        std::error_code ec;
        fs::remove_all(ProjectLayout(base.projectRoot).featuresDir(sharedEncoderName(base.name)), ec);
    }

    // The summary covers every fold's finished iterations: this run's, and for folds this run did
    // not reach (it was cancelled) what their saved state holds, so a cancel never shrinks it.
    auto summarise = [&] {
        std::vector<std::vector<IterationSummary>> folds;
        for (const IcmilLoopResult &fold : result.folds)
            folds.push_back(fold.iterations);
        for (int fold = static_cast<int>(result.folds.size()); fold < m_config.folds; ++fold) {
            const IcmilLoopConfig config = foldConfig(fold);
            const fs::path stateFile = config.projectRoot / "icmil" / config.name / "state.json";
            if (base.overwrite || !fs::exists(stateFile))
                continue;
            const LoopState state = readLoopState(stateFile);
            if (!loopSettingsChanges(state.settings, IcmilLoop(config).settingsJson()).empty())
                continue;
            std::vector<IterationSummary> finished;
            for (const IterationSummary &it : state.iterations)
                if (it.iteration <= config.iterations)
                    finished.push_back(it);
            folds.push_back(std::move(finished));
        }
        result.aggregate = aggregateFolds(folds);
        aggregate.iterations = result.aggregate;
        fs::create_directories(result.aggregateJson.parent_path());
        writeFoldsAggregateJson(result.aggregateJson, aggregate);
        writeFoldsAggregateCsv(result.aggregateCsv, result.aggregate);
    };

    for (int fold = 0; fold < m_config.folds && !m_cancelled; ++fold) {
        if (events.foldStarted)
            events.foldStarted(fold, m_config.folds);
        IcmilLoop loop(foldConfig(fold));
        {
            const std::lock_guard lock(m_currentMutex);
            m_current = &loop;
            if (m_cancelled)
                loop.cancel();
        }
        struct Clear {
            FoldedIcmilLoop *folds;
            ~Clear()
            {
                const std::lock_guard lock(folds->m_currentMutex);
                folds->m_current = nullptr;
            }
        } clear{this};
        result.folds.push_back(loop.run(eventsOfFold(events, fold)));
        if (result.folds.back().cancelled)
            break;
        summarise();
        if (events.foldFinished)
            events.foldFinished(fold, result.folds.back());
    }
    const bool finished = static_cast<int>(result.folds.size()) == m_config.folds && !result.folds.back().cancelled;
    if (!finished) {
        result.cancelled = true;
        summarise();
    }
    result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result;
}

} // namespace icmil::project
