// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/runtime/blasprobe.h"

#include <ATen/Parallel.h>
#include <ATen/Version.h>

#include <cstdlib>
#include <sstream>

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#define ICMIL_HAVE_DLSYM 1
#else
#define ICMIL_HAVE_DLSYM 0
#endif

namespace icmil::engine {

namespace {

// A symbol already loaded into the process (OpenBLAS's C API), or nullptr.
template <typename Function> Function loadedSymbol(const char *name)
{
#if ICMIL_HAVE_DLSYM
    return reinterpret_cast<Function>(dlsym(RTLD_DEFAULT, name));
#else
    (void)name;
    return nullptr;
#endif
}

std::string trimmed(const std::string &text)
{
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos)
        return {};
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

// The line of `text` that contains `needle`, trimmed; empty when none does.
std::string lineContaining(const std::string &text, const std::string &needle)
{
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        if (line.find(needle) != std::string::npos)
            return trimmed(line);
    }
    return {};
}

// The file that provides the Fortran sgemm_ LibTorch calls, resolved through symlinks.
std::string sgemmProvider()
{
#if ICMIL_HAVE_DLSYM
    void *sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
    Dl_info info{};
    if (sgemm == nullptr || dladdr(sgemm, &info) == 0 || info.dli_fname == nullptr)
        return {};
    std::string path = info.dli_fname;
    if (char *resolved = realpath(info.dli_fname, nullptr)) {
        path = resolved;
        std::free(resolved);
    }
    return path;
#else
    return {};
#endif
}

// "BLAS_INFO=generic" from the build settings at::show_config() lists.
std::string buildBlasInfo()
{
    const std::string config = at::show_config();
    const auto start = config.find("BLAS_INFO=");
    if (start == std::string::npos)
        return {};
    const auto end = config.find_first_of(",\n", start);
    return config.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

} // namespace

BlasInfo probeBlas()
{
    BlasInfo blas;
    using ConfigFunction = char *(*)();
    using ThreadCountFunction = int (*)();
    if (auto config = loadedSymbol<ConfigFunction>("openblas_get_config")) {
        blas.description = trimmed(config());
        if (auto threads = loadedSymbol<ThreadCountFunction>("openblas_get_num_threads"))
            blas.threads = threads();
        return blas;
    }
    const std::string mkl = lineContaining(at::get_parallel_info(), "Math Kernel Library");
    if (!mkl.empty()) {
        blas.description = mkl;
        blas.threads = at::get_num_threads(); // ATen sets MKL's threads together with its own
        return blas;
    }
    const std::string provider = sgemmProvider();
    if (!provider.empty()) {
        blas.description = "sgemm_ from " + provider;
        if (provider.find("/blas/libblas.so") != std::string::npos) // Debian's netlib alternative
            blas.description += " (reference BLAS: slow, install OpenBLAS)";
        return blas;
    }
    const std::string build = buildBlasInfo();
    blas.description = build.empty() ? "unknown" : build + " (build setting; run-time BLAS unknown)";
    return blas;
}

bool setBlasThreads(int count)
{
    using SetThreadsFunction = void (*)(int);
    if (auto setThreads = loadedSymbol<SetThreadsFunction>("openblas_set_num_threads")) {
        setThreads(count);
        return true;
    }
    return false;
}

} // namespace icmil::engine
