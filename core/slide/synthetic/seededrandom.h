// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>

namespace icmil::slide {

// A small, platform-independent pseudo-random generator (SplitMix64) plus the stateless hashes the
// synthetic slide is derived from. The standard <random> distributions are implementation-defined,
// so everything that must be byte-identical across builds draws from here instead.
class SeededRandom {
public:
    explicit SeededRandom(std::uint64_t seed) : m_state(seed) { }

    std::uint64_t next()
    {
        m_state += 0x9E3779B97F4A7C15ULL;
        return mix(m_state);
    }
    // Uniform in [0, 1).
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double low, double high) { return low + (high - low) * uniform(); }
    // Uniform integer in [0, count).
    int index(int count) { return static_cast<int>(uniform() * count); }

    // The SplitMix64 finaliser: a bijective 64-bit mixer.
    static std::uint64_t mix(std::uint64_t z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    // A well-mixed hash of a seed and up to three integers (cell coordinates, layer, ...).
    static std::uint64_t hash(std::uint64_t seed, std::int64_t a, std::int64_t b = 0, std::int64_t c = 0)
    {
        std::uint64_t h = mix(seed + 0x9E3779B97F4A7C15ULL);
        h = mix(h ^ (static_cast<std::uint64_t>(a) * 0xD6E8FEB86659FD93ULL));
        h = mix(h ^ (static_cast<std::uint64_t>(b) * 0xA0761D6478BD642FULL));
        h = mix(h ^ (static_cast<std::uint64_t>(c) * 0xE7037ED1A0B428DBULL));
        return h;
    }
    // Takes 16 bits of a hash as a fraction in [0, 1); `part` 0..3 picks which 16 bits.
    static float fraction(std::uint64_t hash, int part) { return static_cast<float>((hash >> (16 * part)) & 0xFFFFu) * (1.0f / 65536.0f); }

    // A cheap 32-bit per-pixel hash (grain and background noise).
    static std::uint32_t pixelHash(std::uint32_t seed, std::int64_t x, std::int64_t y)
    {
        std::uint32_t h = seed ^ (static_cast<std::uint32_t>(x) * 0x9E3779B1u) ^ (static_cast<std::uint32_t>(y) * 0x85EBCA77u);
        h ^= h >> 15;
        h *= 0x2C1B3C6Du;
        h ^= h >> 12;
        h *= 0x297A2D39u;
        h ^= h >> 15;
        return h;
    }

private:
    std::uint64_t m_state;
};

} // namespace icmil::slide
