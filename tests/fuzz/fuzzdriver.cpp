// SPDX-License-Identifier: GPL-3.0-or-later
// A small coverage-guided mutation driver for the fuzz targets when the compiler has no libFuzzer
// (g++: Debian's LibTorch headers do not compile with clang in C++20). It links with one target's
// LLVMFuzzerTestOneInput and takes libFuzzer's command line (the flags below, then corpus folders
// or files), so the same CTest command runs either.
//
// Mutations are fuzzmutator.cpp's; the coverage map, the allocation hooks, the signal handlers and
// the finding report are fuzzwatch.cpp's.
//
// Coverage: the parser sources of a fuzz target are compiled a second time with GCC's
// -fsanitize-coverage=trace-pc, which calls __sanitizer_cov_trace_pc() at every basic block. This
// file (compiled without it) records each (previous block, block) pair in a hashed map of hit
// counts; an input that reaches a new pair or a new hit-count class (AFL's buckets) joins the
// corpus. Without instrumented code the driver still mutates, blindly.
//
// A finding stops the run with exit status 1 and writes the input to <artifact_prefix>crash-<hash>
// (or timeout-, oom-, leak-): a signal (SIGSEGV, SIGABRT, ...), an exception that escapes the
// target, one allocation above -malloc_limit_mb (the allocation functions here check every malloc,
// calloc, realloc and aligned allocation while a target runs: a declared size must be checked
// against the file before anything that large is allocated), a peak resident size above
// -rss_limit_mb, or an input that runs longer than -timeout seconds.
//
//   fuzz_<target> [-seed=N] [-max_total_time=S | --seconds S] [-runs=N] [-max_len=B] [-timeout=S]
//                 [-malloc_limit_mb=M] [-rss_limit_mb=M] [-artifact_prefix=P] [-save_new=DIR]
//                 [-print_coverage=1] CORPUS_DIR_OR_FILE...
//
// Folders are loaded (a missing one is skipped with a note) and every file in them is run once
// before mutating; given only files, each is run once and nothing is mutated (libFuzzer's way of
// replaying a crash).

#include "fuzzmutator.h"
#include "fuzzwatch.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <execinfo.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

namespace {

using namespace icmil::fuzz;

struct Options {
    std::uint64_t seed = 0;
    double maxTotalTime = 0.0; // 0: until -runs
    std::uint64_t runs = UINT64_MAX;
    std::size_t maxLen = 0; // 0: from the corpus
    unsigned timeout = 1200;
    std::size_t mallocLimitMb = 0; // 0: rss limit
    std::size_t rssLimitMb = 2048;
    std::string artifactPrefix = "./";
    std::string saveNew;
    bool printCoverage = false;
    std::vector<std::string> inputs;
};

// The hit-count class AFL uses: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+.
std::uint8_t bucket(std::uint8_t hits)
{
    if (hits == 0)
        return 0;
    if (hits <= 3)
        return static_cast<std::uint8_t>(1u << (hits - 1));
    if (hits <= 7)
        return 8;
    if (hits <= 15)
        return 16;
    if (hits <= 31)
        return 32;
    if (hits <= 127)
        return 64;
    return 128;
}

std::size_t edgesSeen()
{
    std::size_t count = 0;
    for (std::uint8_t classes : g_seen)
        count += classes != 0;
    return count;
}

std::size_t featuresSeen()
{
    std::size_t count = 0;
    for (std::uint8_t classes : g_seen)
        count += static_cast<std::size_t>(__builtin_popcount(classes));
    return count;
}

class Fuzzer {
public:
    explicit Fuzzer(const Options &options) : m_options(options), m_mutator(options.seed) { }

    // Runs one input; true when it reached new coverage.
    bool execute(const Bytes &input)
    {
        std::memset(g_hits, 0, sizeof g_hits);
        t_previousBlock = 0;
        // A copy of exactly `size` bytes, so reading past the end is the target's fault.
        std::uint8_t *copy = static_cast<std::uint8_t *>(__libc_malloc(input.empty() ? 1 : input.size()));
        if (!input.empty())
            std::memcpy(copy, input.data(), input.size());
        g_currentData = copy;
        g_currentSize = input.size();
        if (m_options.timeout != 0) {
            itimerval timer{};
            timer.it_value.tv_sec = static_cast<time_t>(m_options.timeout);
            setitimer(ITIMER_REAL, &timer, nullptr);
        }
        g_inTarget = true;
        try {
            LLVMFuzzerTestOneInput(copy, input.size());
        } catch (const std::exception &error) {
            g_inTarget = false;
            const std::string what = std::string("an exception escaped the target: ") + error.what();
            reportFinding("crash", what.c_str());
            std::_Exit(1);
        } catch (...) {
            g_inTarget = false;
            reportFinding("crash", "an exception of unknown type escaped the target");
            std::_Exit(1);
        }
        g_inTarget = false;
        if (m_options.timeout != 0) {
            itimerval timer{};
            setitimer(ITIMER_REAL, &timer, nullptr);
        }
        ++m_runs;
        checkRss();
        bool fresh = false;
        for (std::size_t i = 0; i < kMapSize; ++i) {
            if (g_hits[i] == 0)
                continue;
            const std::uint8_t classes = bucket(g_hits[i]);
            if ((g_seen[i] | classes) != g_seen[i]) {
                g_seen[i] |= classes;
                fresh = true;
            }
        }
        g_currentData = nullptr;
        g_currentSize = 0;
        __libc_free(copy);
        return fresh;
    }

    void addToCorpus(Bytes input, bool fromMutation)
    {
        if (fromMutation && !m_options.saveNew.empty()) {
            char name[32];
            formatUnsigned(name, fnv1a(input.data(), input.size()), 16);
            std::ofstream(std::filesystem::path(m_options.saveNew) / name, std::ios::binary)
                .write(reinterpret_cast<const char *>(input.data()), static_cast<std::streamsize>(input.size()));
        }
        m_corpus.push_back(std::move(input));
    }

    void run(std::vector<Bytes> seeds, bool replayOnly)
    {
        m_start = std::chrono::steady_clock::now();
        std::size_t longest = 0;
        execute({}); // the empty input, always
        for (Bytes &seed : seeds) {
            longest = std::max(longest, seed.size());
            const bool fresh = execute(seed);
            if (fresh || m_corpus.empty())
                addToCorpus(std::move(seed), false);
        }
        m_initialCorpus = m_corpus.size();
        m_maxLen = m_options.maxLen != 0 ? m_options.maxLen : std::max<std::size_t>(longest + longest / 4, 4096);
        status("INITED");
        if (replayOnly) {
            finish();
            return;
        }
        if (m_corpus.empty())
            m_corpus.push_back({});
        double nextStatus = 1.0;
        while (m_runs < m_options.runs) {
            const double elapsed = seconds();
            if (m_options.maxTotalTime > 0.0 && elapsed >= m_options.maxTotalTime)
                break;
            Bytes input = m_corpus[pick(m_corpus.size())];
            const int mutations = 1 + static_cast<int>(pick(8));
            for (int i = 0; i < mutations; ++i)
                m_mutator.mutate(input, m_corpus, m_maxLen);
            if (execute(input)) {
                addToCorpus(std::move(input), true);
                status("NEW");
            }
            if (elapsed >= nextStatus) {
                status("pulse");
                nextStatus *= 2.0;
            }
        }
        finish();
    }

private:
    double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count(); }

    std::size_t pick(std::size_t bound) { return m_mutator.pick(bound); }

    void checkRss()
    {
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        const std::size_t rssMb = static_cast<std::size_t>(usage.ru_maxrss) / 1024;
        if (m_options.rssLimitMb != 0 && rssMb > m_options.rssLimitMb) {
            char what[128] = "peak resident memory ";
            char number[32];
            formatUnsigned(number, rssMb, 10);
            std::strcat(what, number);
            std::strcat(what, " MB is above -rss_limit_mb");
            reportFinding("oom", what);
            std::_Exit(1);
        }
    }

    void status(const char *event)
    {
        const double elapsed = std::max(seconds(), 1e-9);
        std::fprintf(stderr, "#%llu\t%s cov: %zu ft: %zu corp: %zu exec/s: %.0f\n", static_cast<unsigned long long>(m_runs), event,
                     edgesSeen(), featuresSeen(), m_corpus.size(), static_cast<double>(m_runs) / elapsed);
    }

    void finish()
    {
        const double elapsed = std::max(seconds(), 1e-9);
        std::fprintf(stderr,
                     "==fuzz== done: %llu runs in %.1f s (%.0f exec/s); coverage: %zu edges, %zu features (hashed map of %zu); corpus "
                     "%zu (%zu from the seeds)\n",
                     static_cast<unsigned long long>(m_runs), elapsed, static_cast<double>(m_runs) / elapsed, edgesSeen(), featuresSeen(),
                     kMapSize, m_corpus.size(), m_initialCorpus);
    }

    const Options &m_options;
    icmil::fuzz::Mutator m_mutator;
    std::vector<Bytes> m_corpus;
    std::size_t m_initialCorpus = 0;
    std::size_t m_maxLen = 4096;
    std::uint64_t m_runs = 0;
    std::chrono::steady_clock::time_point m_start;
};

bool parseFlag(const std::string &argument, const char *name, std::string &value)
{
    const std::string prefix = std::string("-") + name + "=";
    if (argument.rfind(prefix, 0) != 0)
        return false;
    value = argument.substr(prefix.size());
    return true;
}

Bytes readBytes(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

} // namespace

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string argument = argv[i];
        std::string value;
        if (argument == "--seconds" && i + 1 < argc)
            options.maxTotalTime = std::stod(argv[++i]);
        else if (parseFlag(argument, "seed", value))
            options.seed = std::stoull(value);
        else if (parseFlag(argument, "max_total_time", value))
            options.maxTotalTime = std::stod(value);
        else if (parseFlag(argument, "runs", value))
            options.runs = std::stoull(value);
        else if (parseFlag(argument, "max_len", value))
            options.maxLen = std::stoull(value);
        else if (parseFlag(argument, "timeout", value))
            options.timeout = static_cast<unsigned>(std::stoul(value));
        else if (parseFlag(argument, "malloc_limit_mb", value))
            options.mallocLimitMb = std::stoull(value);
        else if (parseFlag(argument, "rss_limit_mb", value))
            options.rssLimitMb = std::stoull(value);
        else if (parseFlag(argument, "artifact_prefix", value))
            options.artifactPrefix = value;
        else if (parseFlag(argument, "save_new", value))
            options.saveNew = value;
        else if (parseFlag(argument, "print_coverage", value))
            options.printCoverage = value != "0";
        else if (!argument.empty() && argument[0] == '-')
            std::fprintf(stderr, "==fuzz== ignoring the flag %s\n", argument.c_str());
        else
            options.inputs.push_back(argument);
    }
    if (options.seed == 0)
        options.seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    std::snprintf(g_artifactPrefix, sizeof g_artifactPrefix, "%s", options.artifactPrefix.c_str());
    const std::size_t mallocLimitMb = options.mallocLimitMb != 0 ? options.mallocLimitMb : options.rssLimitMb;
    g_mallocLimit = mallocLimitMb >= (SIZE_MAX >> 20) ? SIZE_MAX : mallocLimitMb << 20; // 2^44 - 1 MB: none

    // Crash handlers on their own stack, so a stack overflow is reported too.
    static std::vector<char> alternateStack(1 << 16);
    stack_t stack{};
    stack.ss_sp = alternateStack.data();
    stack.ss_size = alternateStack.size();
    sigaltstack(&stack, nullptr);
    for (int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) {
        struct sigaction action { };
        action.sa_handler = onSignal;
        action.sa_flags = SA_ONSTACK;
        sigaction(signal, &action, nullptr);
    }
    struct sigaction alarmAction { };
    alarmAction.sa_handler = onTimeout;
    sigaction(SIGALRM, &alarmAction, nullptr);
    void *frames[4];
    backtrace(frames, 4); // loads libgcc now, not inside a signal handler

    std::vector<Bytes> seeds;
    bool sawFolder = false;
    std::size_t missing = 0;
    for (const std::string &input : options.inputs) {
        const std::filesystem::path path(input);
        std::error_code error;
        if (std::filesystem::is_directory(path, error)) {
            sawFolder = true;
            std::vector<std::filesystem::path> files;
            for (const auto &entry : std::filesystem::recursive_directory_iterator(path, error))
                if (entry.is_regular_file() && entry.path().filename().string()[0] != '.')
                    files.push_back(entry.path());
            std::sort(files.begin(), files.end());
            for (const auto &file : files)
                seeds.push_back(readBytes(file));
        } else if (std::filesystem::is_regular_file(path, error)) {
            seeds.push_back(readBytes(path));
        } else {
            ++missing;
            std::fprintf(stderr, "==fuzz== %s does not exist; skipped\n", input.c_str());
        }
    }
    std::fprintf(stderr, "==fuzz== seed %llu; %zu inputs loaded; malloc limit %zu MB, rss limit %zu MB, timeout %u s\n",
                 static_cast<unsigned long long>(options.seed), seeds.size(), g_mallocLimit >> 20, options.rssLimitMb, options.timeout);
    const bool replayOnly = !sawFolder && missing == 0 && !seeds.empty();
    Fuzzer fuzzer(options);
    fuzzer.run(std::move(seeds), replayOnly);
    if (options.printCoverage)
        std::fprintf(stderr, "==fuzz== %zu edges\n", edgesSeen());
    return 0;
}
