// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// PickleUnpickler: a bounds-checked pickle virtual machine for the binary opcodes of protocols
// 2 to 4 (what torch.save and torch::pickle_save write). It never executes anything: classes and
// functions go through a PickleObjectFactory, values into a PickleGraph. Every argument is checked
// against the bytes left, the stack and memo are bounded, and anything unknown is an EngineError.

#include "engine/engineerror.h"
#include "engine/torchfile/picklegraph.h"
#include "engine/torchfile/pickleobjectfactory.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace icmil::engine {

class PickleUnpickler {
public:
    // The pickle ran past the end of the bytes it was given (so a caller that gave it only part
    // of a file may retry with more).
    class Truncated : public EngineError {
    public:
        using EngineError::EngineError;
    };

    // Values on the stack plus open marks; the memo's size. A torch.save pickle needs a few
    // thousand at most (pickle batches APPENDS/SETITEMS by 1000).
    static constexpr std::size_t kMaxStack = std::size_t{1} << 20;
    static constexpr std::size_t kMaxMemo = std::size_t{1} << 21;
    static constexpr std::size_t kMaxLine = 1024; // GLOBAL's module and name lines

    PickleUnpickler(PickleGraph &graph, PickleObjectFactory &factory);

    // Runs the pickle that starts at data[start] up to its STOP and returns the value it left.
    // `end` receives the offset just past STOP. Offsets in messages are relative to `data` plus
    // `offsetBase` (so a pickle inside a larger file reports file offsets).
    PickleRef load(std::string_view data, std::size_t start, std::size_t &end, std::uint64_t offsetBase = 0);

private:
    const char *readBytes(std::size_t count);
    std::uint8_t readU8();
    std::uint64_t readLittleEndian(std::size_t count);
    std::string readLine();
    std::size_t checkLength(std::uint64_t length) const; // against the bytes left
    std::size_t readLength(std::size_t width);           // an unsigned length field, checked
    std::size_t readSignedLength32(const char *opcode);
    [[noreturn]] void throwTruncated() const;

    void push(PickleRef ref);
    PickleRef pop();
    PickleRef &top();
    std::size_t popMark(); // the stack index the innermost MARK recorded
    std::vector<PickleRef> popToMark();
    void memoPut(std::uint64_t index);
    void memoGet(std::uint64_t index);

    PickleRef readInteger(std::size_t byteCount);
    void appendTo(PickleRef target, std::vector<PickleRef> items, const char *opcode);
    void setItems(PickleRef target, std::vector<PickleRef> keysAndValues, const char *opcode);
    void execute(std::uint8_t opcode);

    [[noreturn]] void fail(const std::string &what) const;

    PickleGraph &m_graph;
    PickleObjectFactory &m_factory;
    std::string_view m_data;
    std::size_t m_position = 0;
    std::size_t m_opcodePosition = 0;
    std::uint64_t m_offsetBase = 0;
    bool m_stopped = false;
    std::vector<PickleRef> m_stack;
    std::vector<std::size_t> m_marks;
    std::unordered_map<std::uint64_t, PickleRef> m_memo;
};

} // namespace icmil::engine
