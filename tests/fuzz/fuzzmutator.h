// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The mutations of fuzzdriver.cpp (the built-in driver for g++ builds): bit flips, byte sets,
// random inserts, deletions, repeated bytes, interesting integers (1 to 8 bytes, either byte
// order), small additions to words, copies within the input, splices and crossovers with other
// corpus entries, truncation. One random engine draws every choice, so a run is the same for the
// same -seed.

#include <cstddef>
#include <cstdint>
#include <random>
#include <vector>

namespace icmil::fuzz {

using Bytes = std::vector<std::uint8_t>;

class Mutator {
public:
    explicit Mutator(std::uint64_t seed) : m_random(seed) { }

    // A number in [0, bound); 0 when bound <= 1.
    std::size_t pick(std::size_t bound) { return bound <= 1 ? 0 : static_cast<std::size_t>(m_random() % bound); }

    // Changes `input` by one random mutation, splicing from `corpus` (not empty); the result is cut
    // to `maxLen` bytes.
    void mutate(Bytes &input, const std::vector<Bytes> &corpus, std::size_t maxLen);

private:
    std::uint64_t interesting();

    std::mt19937_64 m_random;
};

} // namespace icmil::fuzz
