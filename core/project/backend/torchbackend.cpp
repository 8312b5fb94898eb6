// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/backend/torchbackend.h"

#include "project/projecterror.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <optional>
#include <system_error>

// Set by core/project/CMakeLists.txt for this file only.
#ifndef ICMIL_TORCH_MODULE_BUILD_PATH
#error "ICMIL_TORCH_MODULE_BUILD_PATH: the build tree's libicmil_torch.so"
#endif
#ifndef ICMIL_TORCH_MODULE_INSTALL_PATH
#error "ICMIL_TORCH_MODULE_INSTALL_PATH: the installed module, relative to the install prefix"
#endif

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

std::mutex g_mutex;
TorchBackend *g_backend = nullptr; // guarded by g_mutex; set once, never unloaded
std::optional<int> g_threads;      // guarded by g_mutex; setComputeThreads's last request

std::string dlError()
{
    const char *error = ::dlerror();
    return error != nullptr ? std::string(error) : std::string("unknown error");
}

TorchBackend *load()
{
    const std::vector<fs::path> candidates = torchModuleCandidates();
    std::error_code ec;
    for (const fs::path &path : candidates) {
        if (!fs::exists(path, ec))
            continue;
        void *handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (handle == nullptr)
            throw ProjectError("Cannot load LibTorch, which training needs (" + path.string() + "): " + dlError());
        using VersionFunction = decltype(&icmil_torch_module_version);
        using BackendFunction = decltype(&icmil_torch_backend);
        auto *version = reinterpret_cast<VersionFunction>(::dlsym(handle, "icmil_torch_module_version"));
        auto *backend = reinterpret_cast<BackendFunction>(::dlsym(handle, "icmil_torch_backend"));
        if (version == nullptr || backend == nullptr) {
            ::dlclose(handle);
            throw ProjectError("Cannot load LibTorch, which training needs: " + path.string() + " is not an ICMIL Studio module");
        }
        if (const std::string found = version(); found != ICMIL_VERSION) {
            ::dlclose(handle);
            throw ProjectError("Cannot load LibTorch, which training needs: " + path.string() + " is from ICMIL Studio " + found
                               + ", this program is " ICMIL_VERSION);
        }
        return backend();
    }
    std::string where;
    for (const fs::path &path : candidates)
        where += (where.empty() ? "" : ", ") + path.string();
    throw ProjectError("Cannot load LibTorch, which training needs: libicmil_torch.so is in none of " + where
                       + " (reinstall icmil-studio, or set ICMIL_TORCH_MODULE)");
}

} // namespace

std::vector<fs::path> torchModuleCandidates()
{
    if (const char *path = std::getenv("ICMIL_TORCH_MODULE"); path != nullptr && *path != '\0')
        return {fs::path(path)};
    std::vector<fs::path> candidates;
    std::error_code ec;
    const fs::path executable = fs::read_symlink("/proc/self/exe", ec);
    if (!ec)
        candidates.push_back(executable.parent_path().parent_path() / ICMIL_TORCH_MODULE_INSTALL_PATH);
    candidates.emplace_back(ICMIL_TORCH_MODULE_BUILD_PATH);
    return candidates;
}

TorchBackend &torchBackend()
{
    const std::lock_guard lock(g_mutex);
    if (g_backend == nullptr) {
        TorchBackend *backend = load();
        if (g_threads)
            backend->configureThreads(*g_threads);
        g_backend = backend;
    }
    return *g_backend;
}

bool torchBackendLoaded()
{
    const std::lock_guard lock(g_mutex);
    return g_backend != nullptr;
}

void setComputeThreads(int requested)
{
    const std::lock_guard lock(g_mutex);
    g_threads = requested;
    if (g_backend != nullptr)
        g_backend->configureThreads(requested);
}

} // namespace icmil::project
