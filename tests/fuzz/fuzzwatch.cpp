// SPDX-License-Identifier: GPL-3.0-or-later
// What the built-in fuzz driver (fuzzdriver.cpp) watches while a target runs: the coverage of the
// instrumented code, the input under way, every allocation's size, deadly signals and the per-input
// timer; and how a finding is written out (fuzzwatch.h).

#include "fuzzwatch.h"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <execinfo.h>
#include <fcntl.h>
#include <unistd.h>

namespace icmil::fuzz {

// Coverage of the run under way (hit counts per hashed edge) and everything seen so far (per edge,
// the hit-count classes seen).
std::uint8_t g_hits[kMapSize];
std::uint8_t g_seen[kMapSize];
thread_local std::uintptr_t t_previousBlock = 0;

// The input under way, for the signal and allocation handlers (which must not allocate).
const std::uint8_t *volatile g_currentData = nullptr;
volatile std::size_t g_currentSize = 0;
volatile bool g_inTarget = false;
volatile bool g_reporting = false;
std::size_t g_mallocLimit = 0; // bytes; 0: none
char g_artifactPrefix[1024] = "./";

namespace {

void writeText(const char *text)
{
    const std::size_t length = std::strlen(text);
    std::size_t done = 0;
    while (done < length) {
        const ssize_t written = ::write(STDERR_FILENO, text + done, length - done);
        if (written <= 0)
            return;
        done += static_cast<std::size_t>(written);
    }
}

} // namespace

void formatUnsigned(char *out, std::uint64_t value, int base)
{
    char digits[32];
    int count = 0;
    do {
        const int digit = static_cast<int>(value % static_cast<std::uint64_t>(base));
        digits[count++] = static_cast<char>(digit < 10 ? '0' + digit : 'a' + digit - 10);
        value /= static_cast<std::uint64_t>(base);
    } while (value != 0);
    for (int i = 0; i < count; ++i)
        out[i] = digits[count - 1 - i];
    out[count] = '\0';
}

std::uint64_t fnv1a(const std::uint8_t *data, std::size_t size)
{
    std::uint64_t hash = 1469598103934665603ull;
    for (std::size_t i = 0; i < size; ++i)
        hash = (hash ^ data[i]) * 1099511628211ull;
    return hash;
}

void reportFinding(const char *kind, const char *what)
{
    if (g_reporting)
        return;
    g_reporting = true;
    const std::uint8_t *data = g_currentData;
    const std::size_t size = g_currentSize;
    writeText("\n==fuzz== FINDING: ");
    writeText(what);
    writeText("\n");

    char path[1200];
    char hash[32];
    formatUnsigned(hash, fnv1a(data, size), 16);
    std::strcpy(path, g_artifactPrefix);
    std::strcat(path, kind);
    std::strcat(path, "-");
    std::strcat(path, hash);
    const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        std::size_t done = 0;
        while (done < size) {
            const ssize_t written = ::write(fd, data + done, size - done);
            if (written <= 0)
                break;
            done += static_cast<std::size_t>(written);
        }
        ::close(fd);
        writeText("==fuzz== input written to ");
        writeText(path);
    } else {
        writeText("==fuzz== could not write the input to ");
        writeText(path);
    }
    char number[32];
    formatUnsigned(number, size, 10);
    writeText(" (");
    writeText(number);
    writeText(" bytes); first bytes:\n");
    char line[80];
    for (std::size_t row = 0; row < size && row < 256; row += 16) {
        int at = 0;
        for (std::size_t i = row; i < row + 16 && i < size; ++i) {
            line[at++] = "0123456789abcdef"[data[i] >> 4];
            line[at++] = "0123456789abcdef"[data[i] & 15];
            line[at++] = ' ';
        }
        line[at++] = '\n';
        line[at] = '\0';
        writeText(line);
    }
    writeText("==fuzz== backtrace:\n");
    void *frames[64];
    const int frameCount = backtrace(frames, 64);
    backtrace_symbols_fd(frames, frameCount, STDERR_FILENO);
}

void onSignal(int signal)
{
    char what[96] = "deadly signal ";
    char number[16];
    formatUnsigned(number, static_cast<std::uint64_t>(signal), 10);
    std::strcat(what, number);
    std::strcat(what, " (");
    std::strcat(what,
                signal == SIGSEGV       ? "SIGSEGV"
                    : signal == SIGABRT ? "SIGABRT"
                    : signal == SIGFPE  ? "SIGFPE"
                    : signal == SIGBUS  ? "SIGBUS"
                    : signal == SIGILL  ? "SIGILL"
                                        : "?");
    std::strcat(what, ")");
    reportFinding("crash", what);
    std::signal(signal, SIG_DFL);
    ::raise(signal);
}

void onTimeout(int)
{
    if (!g_inTarget)
        return;
    reportFinding("timeout", "the input ran past -timeout");
    ::_exit(1);
}

// The per-allocation limit, checked by the malloc replacements below (fuzzwatch.h says when they
// are compiled in).
#ifdef ICMIL_FUZZ_MALLOC_HOOKS
namespace {

void checkAllocation(std::size_t size)
{
    if (g_mallocLimit != 0 && size > g_mallocLimit && g_inTarget && !g_reporting) {
        char what[128] = "one allocation of ";
        char number[32];
        formatUnsigned(number, size, 10);
        std::strcat(what, number);
        std::strcat(what, " bytes is above -malloc_limit_mb");
        reportFinding("oom", what);
        ::_exit(1);
    }
}

} // namespace
#endif

} // namespace icmil::fuzz

// ---- instrumentation and allocation hooks -------------------------------------------------

extern "C" void __sanitizer_cov_trace_pc()
{
    using namespace icmil::fuzz;
    const auto block = reinterpret_cast<std::uintptr_t>(__builtin_return_address(0));
    const std::uintptr_t mixed = (block ^ (block >> 15)) * 0x9E3779B97F4A7C15ull;
    const std::size_t edge = ((mixed >> 40) ^ t_previousBlock) & (kMapSize - 1);
    t_previousBlock = (mixed >> 41) & (kMapSize - 1);
    std::uint8_t &hits = g_hits[edge];
    if (hits != 255)
        ++hits;
}

#ifdef ICMIL_FUZZ_MALLOC_HOOKS
using icmil::fuzz::checkAllocation;

extern "C" void *malloc(std::size_t size)
{
    checkAllocation(size);
    return __libc_malloc(size);
}

extern "C" void *calloc(std::size_t count, std::size_t size)
{
    if (size != 0 && count > SIZE_MAX / size)
        checkAllocation(SIZE_MAX);
    else
        checkAllocation(count * size);
    return __libc_calloc(count, size);
}

extern "C" void *realloc(void *pointer, std::size_t size)
{
    checkAllocation(size);
    return __libc_realloc(pointer, size);
}

extern "C" void free(void *pointer)
{
    __libc_free(pointer);
}

extern "C" void *memalign(std::size_t alignment, std::size_t size)
{
    checkAllocation(size);
    return __libc_memalign(alignment, size);
}

extern "C" void *aligned_alloc(std::size_t alignment, std::size_t size)
{
    checkAllocation(size);
    return __libc_memalign(alignment, size);
}

extern "C" int posix_memalign(void **result, std::size_t alignment, std::size_t size)
{
    if (alignment < sizeof(void *) || (alignment & (alignment - 1)) != 0)
        return EINVAL;
    checkAllocation(size);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == nullptr && size != 0)
        return ENOMEM;
    *result = pointer;
    return 0;
}
#endif
