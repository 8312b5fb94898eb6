// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// LibTorch on demand (docs/ARCHITECTURE.md, "LibTorch on demand").
//
// Everything that needs LibTorch (the engine, extraction, training, the ICMIL loop) is also built
// into a module, libicmil_torch.so, that a program loads with dlopen when it first needs it. A
// program that links only the torch-free layers (icmil-studio) therefore starts, shows slides and
// browses projects without LibTorch (and without the Qt 5 libraries Debian's LibTorch drags in
// through OpenCV's highgui); the first training run, duration estimate or version report loads it.
//
// The module carries its own copies of the torch-free layers, but every executable exports its
// symbols (CMAKE_ENABLE_EXPORTS), so at load the module's references bind to the executable's
// copies: one HDF5 lock, one set of globals per process.
//
// The interface is plain C++ over the torch-free settings (icmilloopconfig.h, loopduration.h,
// runtimeinfo.h). Errors cross it as std::exception subclasses (ProjectError, EngineError,
// SlideError) with one sentence: the module turns LibTorch's c10::Error into EngineError with its
// C++ backtrace stripped, so no caller needs LibTorch's headers to report one.

#include "engine/runtime/runtimeinfo.h"
#include "project/loop/icmilloopconfig.h"
#include "project/loop/loopduration.h"
#include "project/model/bundlepredictionconfig.h"
#include "project/model/modelbundleinfo.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace icmil::project {

// One run of the ICMIL loop (icmilloop.h).
class LoopRunner {
public:
    virtual ~LoopRunner() = default;
    // As IcmilLoop::run.
    virtual IcmilLoopResult run(const IcmilLoopEvents &events) = 0;
    // Thread-safe, as IcmilLoop::cancel.
    virtual void cancel() = 0;
};

// One duration estimate of a loop (loopdurationestimate.h).
class DurationProbe {
public:
    virtual ~DurationProbe() = default;
    // As LoopDurationEstimator::run.
    virtual LoopDurationEstimate run() = 0;
    // Thread-safe; the probe stops after the measurement under way.
    virtual void cancel() = 0;
    virtual bool cancelled() const = 0;
};

// One application of a model bundle to slides (model/bundleprediction.h).
class BundlePredictionRunner {
public:
    virtual ~BundlePredictionRunner() = default;
    // As BundlePredictionJob::run.
    virtual BundlePredictionResult run(const BundlePredictionEvents &events) = 0;
    // Thread-safe, as BundlePredictionJob::cancel.
    virtual void cancel() = 0;
};

class TorchBackend {
public:
    virtual ~TorchBackend() = default;
    virtual std::unique_ptr<LoopRunner> makeLoop(IcmilLoopConfig config) = 0;
    virtual std::unique_ptr<DurationProbe> makeDurationProbe(IcmilLoopConfig config) = 0;
    // What LibTorch runs with (engine::runtimeInfo).
    virtual engine::RuntimeInfo runtimeInfo() = 0;
    // "auto", "cpu", "cuda", "cuda:N" as this machine resolves it ("cpu", "cuda:0"); throws
    // EngineError as engine::resolveDevice does.
    virtual std::string resolveDevice(const std::string &device) = 0;
    // engine::configureThreads and engine::adoptConfiguredThreads.
    virtual int configureThreads(int requested) = 0;
    virtual int adoptConfiguredThreads() = 0;
    // As resolveStainNormalisation (features/slidestain.h): a region reference estimated now.
    virtual engine::StainNormalisation resolveStainNormalisation(engine::StainMethod method, const std::string &reference) = 0;
    // Model bundles (model/modelbundle.h): one applied to slides (model/bundleprediction.h), and
    // its model.json alone (readModelBundleInfo: ProjectError with one sentence naming the file
    // when it is not a bundle this program reads).
    virtual std::unique_ptr<BundlePredictionRunner> makeBundlePrediction(BundlePredictionConfig config) = 0;
    virtual ModelBundleInfo readModelBundleInfo(const std::filesystem::path &bundle) = 0;
};

// The process's backend, loading the module on the first call (thread-safe; ~1 s and ~100 MiB
// the first time, nothing after). Throws ProjectError with one sentence when the module cannot
// be found or loaded (a missing LibTorch library is named); a later call tries again.
TorchBackend &torchBackend();

// Whether the module is loaded (loads nothing).
bool torchBackendLoaded();

// Where the module is looked for, in order: $ICMIL_TORCH_MODULE when set (alone); beside an
// installed program (<prefix>/<libdir>/icmil/libicmil_torch.so for <prefix>/bin/<program>: /usr/lib/icmil/);
// the build tree's.
std::vector<std::filesystem::path> torchModuleCandidates();

// The compute threads LibTorch should use (0: every hardware thread): applied now when the
// module is loaded, else when it loads.
void setComputeThreads(int requested);

} // namespace icmil::project

// The module's entry points (extern "C", looked up with dlsym): its version, which must equal the
// program's, and its backend, which lives as long as the process.
extern "C" {
const char *icmil_torch_module_version();
icmil::project::TorchBackend *icmil_torch_backend();
}
