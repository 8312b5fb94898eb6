// SPDX-License-Identifier: GPL-3.0-or-later
// libicmil_torch.so: the TorchBackend (torchbackend.h) over the torch-side project layer.
#include "project/backend/torchbackend.h"

#include "engine/engineerror.h"
#include "engine/runtime/runtime.h"
#include "project/features/slidestain.h"
#include "project/loop/icmilloop.h"
#include "project/loop/loopdurationestimate.h"
#include "project/model/bundleprediction.h"
#include "project/model/modelbundle.h"

#include <c10/util/Exception.h>

#include <utility>

namespace icmil::project {

namespace {

// Runs `work`, turning LibTorch's c10::Error into EngineError with its C++ backtrace stripped.
template <typename Work> auto withoutBacktrace(Work &&work)
{
    try {
        return work();
    } catch (const c10::Error &e) {
        throw engine::EngineError(e.what_without_backtrace());
    }
}

class ModuleLoopRunner final : public LoopRunner {
public:
    explicit ModuleLoopRunner(IcmilLoopConfig config) : m_loop(std::move(config)) { }
    IcmilLoopResult run(const IcmilLoopEvents &events) override
    {
        return withoutBacktrace([&] { return m_loop.run(events); });
    }
    void cancel() override { m_loop.cancel(); }

private:
    IcmilLoop m_loop;
};

class ModuleDurationProbe final : public DurationProbe {
public:
    explicit ModuleDurationProbe(IcmilLoopConfig config) : m_estimator(std::move(config)) { }
    LoopDurationEstimate run() override
    {
        return withoutBacktrace([&] { return m_estimator.run(); });
    }
    void cancel() override { m_estimator.cancel(); }
    bool cancelled() const override { return m_estimator.cancelled(); }

private:
    LoopDurationEstimator m_estimator;
};

class ModuleBundlePrediction final : public BundlePredictionRunner {
public:
    explicit ModuleBundlePrediction(BundlePredictionConfig config) : m_job(std::move(config)) { }
    BundlePredictionResult run(const BundlePredictionEvents &events) override
    {
        return withoutBacktrace([&] { return m_job.run(events); });
    }
    void cancel() override { m_job.cancel(); }

private:
    BundlePredictionJob m_job;
};

class ModuleBackend final : public TorchBackend {
public:
    std::unique_ptr<LoopRunner> makeLoop(IcmilLoopConfig config) override { return std::make_unique<ModuleLoopRunner>(std::move(config)); }
    std::unique_ptr<DurationProbe> makeDurationProbe(IcmilLoopConfig config) override
    {
        return std::make_unique<ModuleDurationProbe>(std::move(config));
    }
    std::unique_ptr<BundlePredictionRunner> makeBundlePrediction(BundlePredictionConfig config) override
    {
        return std::make_unique<ModuleBundlePrediction>(std::move(config));
    }
    ModelBundleInfo readModelBundleInfo(const std::filesystem::path &bundle) override
    {
        return withoutBacktrace([&] { return project::readModelBundleInfo(bundle); });
    }
    engine::RuntimeInfo runtimeInfo() override
    {
        return withoutBacktrace([] { return engine::runtimeInfo(); });
    }
    std::string resolveDevice(const std::string &device) override
    {
        return withoutBacktrace([&] { return engine::resolveDevice(engine::parseDevice(device)).str(); });
    }
    int configureThreads(int requested) override
    {
        return withoutBacktrace([&] { return engine::configureThreads(requested); });
    }
    int adoptConfiguredThreads() override
    {
        return withoutBacktrace([] { return engine::adoptConfiguredThreads(); });
    }
    engine::StainNormalisation resolveStainNormalisation(engine::StainMethod method, const std::string &reference) override
    {
        return withoutBacktrace([&] { return project::resolveStainNormalisation(method, reference); });
    }
};

} // namespace

} // namespace icmil::project

extern "C" {

__attribute__((visibility("default"))) const char *icmil_torch_module_version()
{
    return ICMIL_VERSION;
}

__attribute__((visibility("default"))) icmil::project::TorchBackend *icmil_torch_backend()
{
    static icmil::project::ModuleBackend backend;
    return &backend;
}
}
