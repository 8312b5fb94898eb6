// SPDX-License-Identifier: GPL-3.0-or-later
#include "fuzzmutator.h"

#include <algorithm>
#include <cstring>
#include <iterator>

namespace icmil::fuzz {

// Values at the edges of integer types and of common sizes.
std::uint64_t Mutator::interesting()
{
    // clang-format off
    static constexpr std::uint64_t values[] = {
        0, 1, 2, 7, 8, 16, 32, 64, 100, 127, 128, 255, 256, 512, 1000, 1024, 4096, 32767, 32768, 65535, 65536,
        0x7fffffffull, 0x80000000ull, 0xffffffffull, 0x100000000ull, 0x7fffffffffffffffull, 0x8000000000000000ull,
        0xffffffffffffffffull, 0xfffffffffffffffeull, 0xffffff80ull};
    // clang-format on
    return values[pick(std::size(values))];
}

void Mutator::mutate(Bytes &input, const std::vector<Bytes> &corpus, std::size_t maxLen)
{
    switch (pick(input.empty() ? 2 : 12)) {
    case 0: // insert random bytes
    case 1: {
        const std::size_t count = 1 + pick(8);
        const std::size_t at = pick(input.size() + 1);
        Bytes bytes(count);
        for (auto &byte : bytes)
            byte = static_cast<std::uint8_t>(m_random());
        input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), bytes.begin(), bytes.end());
        break;
    }
    case 2: { // flip a bit
        const std::size_t at = pick(input.size());
        input[at] ^= static_cast<std::uint8_t>(1u << pick(8));
        break;
    }
    case 3: // set a byte
        input[pick(input.size())] = static_cast<std::uint8_t>(m_random());
        break;
    case 4: { // delete a range
        const std::size_t at = pick(input.size());
        const std::size_t count = 1 + pick(std::min<std::size_t>(input.size() - at, 64));
        input.erase(input.begin() + static_cast<std::ptrdiff_t>(at), input.begin() + static_cast<std::ptrdiff_t>(at + count));
        break;
    }
    case 5: { // an interesting integer, 1 to 8 bytes, either byte order
        const std::size_t width = std::size_t{1} << pick(4);
        if (input.size() < width)
            break;
        const std::size_t at = pick(input.size() - width + 1);
        std::uint64_t value = interesting();
        const bool bigEndian = pick(2) == 1;
        for (std::size_t i = 0; i < width; ++i) {
            const std::size_t shift = 8 * (bigEndian ? width - 1 - i : i);
            input[at + i] = static_cast<std::uint8_t>(value >> shift);
        }
        break;
    }
    case 6: { // add or subtract a little to a little-endian word
        const std::size_t width = std::size_t{1} << pick(4);
        if (input.size() < width)
            break;
        const std::size_t at = pick(input.size() - width + 1);
        std::uint64_t value = 0;
        for (std::size_t i = 0; i < width; ++i)
            value |= std::uint64_t{input[at + i]} << (8 * i);
        value += pick(2) == 0 ? 1 + pick(35) : -(1 + pick(35));
        for (std::size_t i = 0; i < width; ++i)
            input[at + i] = static_cast<std::uint8_t>(value >> (8 * i));
        break;
    }
    case 7: { // copy a chunk of itself over another place
        const std::size_t from = pick(input.size());
        const std::size_t to = pick(input.size());
        const std::size_t count = 1 + pick(std::min(input.size() - std::max(from, to), std::size_t{128}));
        std::memmove(input.data() + to, input.data() + from, count);
        break;
    }
    case 8: { // splice: a chunk of another corpus entry inserted or overwritten
        const Bytes &other = corpus[pick(corpus.size())];
        if (other.empty())
            break;
        const std::size_t from = pick(other.size());
        const std::size_t count = 1 + pick(std::min<std::size_t>(other.size() - from, 256));
        const std::size_t at = pick(input.size() + 1);
        if (pick(2) == 0 || at + count > input.size())
            input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), other.begin() + static_cast<std::ptrdiff_t>(from),
                         other.begin() + static_cast<std::ptrdiff_t>(from + count));
        else
            std::copy(other.begin() + static_cast<std::ptrdiff_t>(from), other.begin() + static_cast<std::ptrdiff_t>(from + count),
                      input.begin() + static_cast<std::ptrdiff_t>(at));
        break;
    }
    case 9: // truncate
        input.resize(pick(input.size()));
        break;
    case 10: { // crossover: this one's head, another one's tail
        const Bytes &other = corpus[pick(corpus.size())];
        const std::size_t head = pick(input.size() + 1);
        const std::size_t tail = pick(other.size() + 1);
        input.resize(head);
        input.insert(input.end(), other.begin() + static_cast<std::ptrdiff_t>(tail), other.end());
        break;
    }
    default: { // repeat a byte
        const std::size_t at = pick(input.size());
        const std::size_t count = 1 + pick(32);
        input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), count, input[at]);
        break;
    }
    }
    if (input.size() > maxLen)
        input.resize(maxLen);
}

} // namespace icmil::fuzz
