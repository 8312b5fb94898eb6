// SPDX-License-Identifier: GPL-3.0-or-later
// What the built-in fuzz driver watches while a target runs (fuzzwatch.cpp): the coverage map that
// the instrumented code's __sanitizer_cov_trace_pc() fills, the input under way (for the signal and
// allocation handlers, which must not allocate), the per-allocation limit, and the finding report.
#pragma once

#include <cstddef>
#include <cstdint>

// glibc's allocator under its internal names: the driver's own buffers, and the replacements of
// malloc and its relatives, which check sizes and forward.
extern "C" void *__libc_malloc(std::size_t size);
extern "C" void *__libc_calloc(std::size_t count, std::size_t size);
extern "C" void *__libc_realloc(void *pointer, std::size_t size);
extern "C" void *__libc_memalign(std::size_t alignment, std::size_t size);
extern "C" void __libc_free(void *pointer);

// Under AddressSanitizer or ThreadSanitizer (ICMIL_SANITIZE) their runtime owns malloc: the hooks
// are left out, and ASan's own max_allocation_size_mb (ASAN_OPTIONS) checks each allocation.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define ICMIL_FUZZ_MALLOC_HOOKS 1
#endif

namespace icmil::fuzz {

constexpr std::size_t kMapSize = std::size_t{1} << 16;

// Coverage of the run under way (hit counts per hashed edge) and everything seen so far (per edge,
// the hit-count classes seen).
extern std::uint8_t g_hits[kMapSize];
extern std::uint8_t g_seen[kMapSize];
extern thread_local std::uintptr_t t_previousBlock;

// The input under way, whether the target is running, and the limits and paths of a finding.
extern const std::uint8_t *volatile g_currentData;
extern volatile std::size_t g_currentSize;
extern volatile bool g_inTarget;
extern volatile bool g_reporting;
extern std::size_t g_mallocLimit; // bytes; 0: none
extern char g_artifactPrefix[1024];

// Decimal or hex digits into `out` (32 bytes suffice) without allocating.
void formatUnsigned(char *out, std::uint64_t value, int base);
std::uint64_t fnv1a(const std::uint8_t *data, std::size_t size);

// Writes the input under way to <prefix><kind>-<hash>, prints where, a hex dump of its start and
// a backtrace. Async-signal-safe apart from backtrace() (preloaded in main).
void reportFinding(const char *kind, const char *what);

// Signal handlers: a deadly signal is a crash finding; SIGALRM during a target run a timeout.
void onSignal(int signal);
void onTimeout(int);

} // namespace icmil::fuzz
