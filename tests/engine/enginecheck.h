// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// enginecheck: the engine tests' harness. Engine-only builds (a GPU server) have LibTorch but no
// Qt, so no Qt Test. Include it once per test executable: it defines main().
//
//   ENGINE_TEST(parsesCpu) { CHECK_EQ(parseDevice("cpu").kind, DeviceKind::Cpu); }
//
// A failed CHECK ends its test; SKIP(reason) ends it as skipped. `./tst_x [name]` runs all or one.

#include <cmath>
#include <exception>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace enginecheck {

using TestFunction = void (*)();
struct TestCase {
    const char *name;
    TestFunction run;
};
enum class Outcome { Pass, Fail, Skip };
struct Result {
    Outcome outcome = Outcome::Pass;
    std::string detail;
};

inline std::vector<TestCase> &registry()
{
    static std::vector<TestCase> tests;
    return tests;
}
inline Result &current()
{
    static Result result;
    return result;
}

struct Registration {
    Registration(const char *name, TestFunction run) { registry().push_back({name, run}); }
};

inline void fail(const char *file, int line, const std::string &what)
{
    current() = {Outcome::Fail, std::string(file) + ":" + std::to_string(line) + ": " + what};
}
inline void skip(const std::string &reason)
{
    current() = {Outcome::Skip, reason};
}

template <typename T> std::string show(const T &value)
{
    if constexpr (requires(std::ostream & out) { out << value; }) {
        std::ostringstream text;
        text << value;
        return text.str();
    } else {
        return "(not printable)";
    }
}

} // namespace enginecheck

// LibTorch headers may bring glog's CHECK macros; include this file after them and it takes the names.
#undef CHECK
#undef CHECK_EQ
#undef CHECK_NEAR

#define ENGINE_TEST(name)                                                                                                                  \
    static void name();                                                                                                                    \
    static const ::enginecheck::Registration name##Registration(#name, &name);                                                             \
    static void name()

#define ENGINECHECK_FAIL(what)                                                                                                             \
    do {                                                                                                                                   \
        ::enginecheck::fail(__FILE__, __LINE__, what);                                                                                     \
        return;                                                                                                                            \
    } while (false)

#define CHECK(cond)                                                                                                                        \
    do {                                                                                                                                   \
        if (!(cond))                                                                                                                       \
            ENGINECHECK_FAIL("CHECK(" #cond ")");                                                                                          \
    } while (false)

#define CHECK_EQ(a, b)                                                                                                                     \
    do {                                                                                                                                   \
        const auto &va_ = (a);                                                                                                             \
        const auto &vb_ = (b);                                                                                                             \
        if (!(va_ == vb_))                                                                                                                 \
            ENGINECHECK_FAIL("CHECK_EQ(" #a ", " #b "): " + ::enginecheck::show(va_) + " != " + ::enginecheck::show(vb_));                 \
    } while (false)

#define CHECK_NEAR(a, b, tol)                                                                                                              \
    do {                                                                                                                                   \
        const double va_ = static_cast<double>(a);                                                                                         \
        const double vb_ = static_cast<double>(b);                                                                                         \
        if (!(std::abs(va_ - vb_) <= static_cast<double>(tol)))                                                                            \
            ENGINECHECK_FAIL("CHECK_NEAR(" #a ", " #b ", " #tol "): " + std::to_string(va_) + " vs " + std::to_string(vb_));               \
    } while (false)

#define CHECK_THROWS_MESSAGE(expr, message)                                                                                                \
    do {                                                                                                                                   \
        std::string caught_;                                                                                                               \
        bool threw_ = false;                                                                                                               \
        try {                                                                                                                              \
            (void)(expr);                                                                                                                  \
        } catch (const std::exception &e) {                                                                                                \
            threw_ = true;                                                                                                                 \
            caught_ = e.what();                                                                                                            \
        }                                                                                                                                  \
        if (!threw_)                                                                                                                       \
            ENGINECHECK_FAIL("CHECK_THROWS_MESSAGE(" #expr "): did not throw");                                                            \
        if (caught_ != std::string(message))                                                                                               \
            ENGINECHECK_FAIL("CHECK_THROWS_MESSAGE(" #expr "): threw \"" + caught_ + "\", expected \"" + std::string(message) + "\"");     \
    } while (false)

#define SKIP(reason)                                                                                                                       \
    do {                                                                                                                                   \
        ::enginecheck::skip(reason);                                                                                                       \
        return;                                                                                                                            \
    } while (false)

int main(int argc, char **argv)
{
    int counts[3] = {0, 0, 0};
    for (const auto &test : enginecheck::registry()) {
        if (argc > 1 && std::string(argv[1]) != test.name)
            continue;
        enginecheck::current() = {};
        try {
            test.run();
        } catch (const std::exception &e) {
            const std::string what = e.what();
            enginecheck::current() = {enginecheck::Outcome::Fail, "unexpected exception: " + what.substr(0, what.find('\n'))};
        } catch (...) {
            enginecheck::current() = {enginecheck::Outcome::Fail, "unexpected non-standard exception"};
        }
        const auto &result = enginecheck::current();
        static const char *const labels[] = {"PASS ", "FAIL ", "SKIP "};
        const auto slot = static_cast<int>(result.outcome);
        ++counts[slot];
        std::cout << labels[slot] << test.name << (result.detail.empty() ? "" : ": ") << result.detail << std::endl;
    }
    if (argc > 1 && counts[0] + counts[1] + counts[2] == 0) {
        std::cout << "FAIL no test named " << argv[1] << std::endl;
        return 2;
    }
    std::cout << counts[0] << " passed, " << counts[1] << " failed, " << counts[2] << " skipped" << std::endl;
    return counts[1] == 0 ? 0 : 1;
}
