// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/pickleunpickler.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace icmil::engine {

namespace {

// The opcodes of pickle protocols 2 to 5 that this unpickler runs (Lib/pickle.py names).
enum Opcode : std::uint8_t {
    MARK = '(',
    STOP = '.',
    POP = '0',
    POP_MARK = '1',
    DUP = '2',
    BINFLOAT = 'G',
    BININT = 'J',
    BININT1 = 'K',
    BININT2 = 'M',
    NONE = 'N',
    BINPERSID = 'Q',
    REDUCE = 'R',
    BINSTRING = 'T',
    SHORT_BINSTRING = 'U',
    BINUNICODE = 'X',
    APPEND = 'a',
    BUILD = 'b',
    GLOBAL = 'c',
    DICT = 'd',
    EMPTY_DICT = '}',
    APPENDS = 'e',
    BINGET = 'h',
    LONG_BINGET = 'j',
    LIST = 'l',
    EMPTY_LIST = ']',
    BINPUT = 'q',
    LONG_BINPUT = 'r',
    SETITEM = 's',
    TUPLE = 't',
    EMPTY_TUPLE = ')',
    SETITEMS = 'u',
    BINBYTES = 'B',
    SHORT_BINBYTES = 'C',
    PROTO = 0x80,
    NEWOBJ = 0x81,
    TUPLE1 = 0x85,
    TUPLE2 = 0x86,
    TUPLE3 = 0x87,
    NEWTRUE = 0x88,
    NEWFALSE = 0x89,
    LONG1 = 0x8a,
    LONG4 = 0x8b,
    SHORT_BINUNICODE = 0x8c,
    BINUNICODE8 = 0x8d,
    BINBYTES8 = 0x8e,
    EMPTY_SET = 0x8f,
    ADDITEMS = 0x90,
    FROZENSET = 0x91,
    NEWOBJ_EX = 0x92,
    STACK_GLOBAL = 0x93,
    MEMOIZE = 0x94,
    FRAME = 0x95,
    BYTEARRAY8 = 0x96,
};

constexpr int kHighestProtocol = 5;

std::string hexByte(std::uint8_t byte)
{
    static const char digits[] = "0123456789abcdef";
    return std::string("0x") + digits[byte >> 4] + digits[byte & 15];
}

} // namespace

PickleUnpickler::PickleUnpickler(PickleGraph &graph, PickleObjectFactory &factory) : m_graph(graph), m_factory(factory)
{ }

void PickleUnpickler::fail(const std::string &what) const
{
    throw EngineError(what + " at byte " + std::to_string(m_offsetBase + m_opcodePosition)
                      + " of the pickle data (the file is corrupted or not a torch.save file)");
}

const char *PickleUnpickler::readBytes(std::size_t count)
{
    if (count > m_data.size() - m_position)
        throwTruncated();
    const char *bytes = m_data.data() + m_position;
    m_position += count;
    return bytes;
}

std::uint8_t PickleUnpickler::readU8()
{
    return static_cast<std::uint8_t>(*readBytes(1));
}

std::uint64_t PickleUnpickler::readLittleEndian(std::size_t count)
{
    const char *bytes = readBytes(count);
    std::uint64_t value = 0;
    for (std::size_t i = count; i-- > 0;)
        value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
    return value;
}

void PickleUnpickler::throwTruncated() const
{
    throw Truncated("the pickle data ends unexpectedly at byte " + std::to_string(m_offsetBase + m_data.size())
                    + " (the file is truncated or corrupted)");
}

std::size_t PickleUnpickler::checkLength(std::uint64_t length) const
{
    if (length > m_data.size() - m_position)
        throwTruncated();
    return static_cast<std::size_t>(length);
}

std::size_t PickleUnpickler::readLength(std::size_t width)
{
    return checkLength(readLittleEndian(width));
}

std::size_t PickleUnpickler::readSignedLength32(const char *opcode)
{
    const auto length = static_cast<std::int32_t>(readLittleEndian(4));
    if (length < 0)
        fail(std::string(opcode) + " has a negative length");
    return checkLength(static_cast<std::uint64_t>(length));
}

std::string PickleUnpickler::readLine()
{
    const std::size_t left = m_data.size() - m_position;
    const std::size_t searched = std::min(left, kMaxLine + 1);
    const std::size_t newline = m_data.substr(m_position, searched).find('\n');
    if (newline == std::string_view::npos) {
        if (searched == left)
            throwTruncated();
        fail("GLOBAL names a module or class longer than " + std::to_string(kMaxLine) + " bytes");
    }
    std::string line(readBytes(newline + 1), newline);
    return line;
}

void PickleUnpickler::push(PickleRef ref)
{
    if (m_stack.size() + m_marks.size() >= kMaxStack)
        fail("the pickle stack grows beyond " + std::to_string(kMaxStack) + " entries");
    m_stack.push_back(ref);
}

PickleRef PickleUnpickler::pop()
{
    const std::size_t floor = m_marks.empty() ? 0 : m_marks.back();
    if (m_stack.size() <= floor)
        fail("the pickle pops from an empty stack");
    const PickleRef ref = m_stack.back();
    m_stack.pop_back();
    return ref;
}

PickleRef &PickleUnpickler::top()
{
    const std::size_t floor = m_marks.empty() ? 0 : m_marks.back();
    if (m_stack.size() <= floor)
        fail("the pickle reads from an empty stack");
    return m_stack.back();
}

std::size_t PickleUnpickler::popMark()
{
    if (m_marks.empty())
        fail("the pickle closes a MARK it never opened");
    const std::size_t mark = m_marks.back();
    m_marks.pop_back();
    return mark;
}

std::vector<PickleRef> PickleUnpickler::popToMark()
{
    const std::size_t mark = popMark();
    std::vector<PickleRef> items(m_stack.begin() + static_cast<std::ptrdiff_t>(mark), m_stack.end());
    m_stack.resize(mark);
    return items;
}

void PickleUnpickler::memoPut(std::uint64_t index)
{
    const PickleRef value = top();
    const auto found = m_memo.find(index);
    if (found != m_memo.end()) {
        found->second = value;
        return;
    }
    if (m_memo.size() >= kMaxMemo)
        fail("the pickle memo grows beyond " + std::to_string(kMaxMemo) + " entries");
    m_memo.emplace(index, value);
}

void PickleUnpickler::memoGet(std::uint64_t index)
{
    const auto found = m_memo.find(index);
    if (found == m_memo.end())
        fail("the pickle refers to memo entry " + std::to_string(index) + ", which it never stored");
    push(found->second);
}

PickleRef PickleUnpickler::readInteger(std::size_t byteCount)
{
    // Python's LONG1/LONG4: little-endian two's complement, minimal length. Values beyond 64 bits
    // (e.g. legacy torch.save's magic number) come back as the nearest float.
    const char *bytes = readBytes(byteCount);
    if (byteCount == 0)
        return PickleGraph::integer(0);
    const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
    const bool negative = (byte(byteCount - 1) & 0x80) != 0;
    const std::uint8_t extension = negative ? 0xff : 0x00;
    bool fits = true;
    for (std::size_t i = 8; i < byteCount && fits; ++i)
        fits = byte(i) == extension;
    if (fits && byteCount > 8)
        fits = ((byte(7) & 0x80) != 0) == negative;
    if (fits) {
        std::uint64_t value = negative ? ~std::uint64_t{0} : 0;
        for (std::size_t i = std::min<std::size_t>(byteCount, 8); i-- > 0;)
            value = (value << 8) | byte(i); // a negative value's ones shift up: sign-extended
        return PickleGraph::integer(std::bit_cast<std::int64_t>(value));
    }
    double magnitude = 0; // of the value, or of -(value + 1) for a negative one
    for (std::size_t i = byteCount; i-- > 0;)
        magnitude = magnitude * 256.0 + (negative ? (0xff ^ byte(i)) : byte(i));
    return PickleGraph::real(negative ? -(magnitude + 1.0) : magnitude);
}

void PickleUnpickler::appendTo(PickleRef target, std::vector<PickleRef> items, const char *opcode)
{
    if (target.kind != PickleRef::Kind::List)
        fail(std::string(opcode) + " expects a list, found " + m_graph.describe(target));
    auto &list = m_graph.container(target).items;
    list.insert(list.end(), items.begin(), items.end());
}

void PickleUnpickler::setItems(PickleRef target, std::vector<PickleRef> keysAndValues, const char *opcode)
{
    if (target.kind != PickleRef::Kind::Dict)
        fail(std::string(opcode) + " expects a dict, found " + m_graph.describe(target));
    if (keysAndValues.size() % 2 != 0)
        fail(std::string(opcode) + " has a key without a value");
    auto &entries = m_graph.container(target).items;
    entries.insert(entries.end(), keysAndValues.begin(), keysAndValues.end());
}

PickleRef PickleUnpickler::load(std::string_view data, std::size_t start, std::size_t &end, std::uint64_t offsetBase)
{
    m_data = data;
    m_position = std::min(start, data.size());
    m_offsetBase = offsetBase;
    m_stopped = false;
    m_stack.clear();
    m_marks.clear();
    m_memo.clear();

    PickleRef result;
    while (!m_stopped) {
        m_opcodePosition = m_position;
        const std::uint8_t opcode = readU8();
        if (opcode == STOP) {
            result = pop();
            m_stopped = true;
        } else {
            execute(opcode);
        }
    }
    end = m_position;
    return result;
}

void PickleUnpickler::execute(std::uint8_t opcode)
{
    using Kind = PickleRef::Kind;
    switch (opcode) {
    case PROTO: {
        const std::uint8_t protocol = readU8();
        if (protocol > kHighestProtocol)
            fail("the pickle uses protocol " + std::to_string(protocol) + ", newer than any known");
        return;
    }
    case FRAME: readLength(8); return; // frames only group opcodes; the bound is checked
    case MARK:
        if (m_stack.size() + m_marks.size() >= kMaxStack)
            fail("the pickle stack grows beyond " + std::to_string(kMaxStack) + " entries");
        m_marks.push_back(m_stack.size());
        return;
    case POP:
        if (!m_marks.empty() && m_stack.size() == m_marks.back())
            popMark();
        else
            pop();
        return;
    case POP_MARK: popToMark(); return;
    case DUP: push(top()); return;

    case NONE: push(PickleGraph::none()); return;
    case NEWTRUE: push(PickleGraph::boolean(true)); return;
    case NEWFALSE: push(PickleGraph::boolean(false)); return;
    case BININT: push(PickleGraph::integer(static_cast<std::int32_t>(readLittleEndian(4)))); return;
    case BININT1: push(PickleGraph::integer(readU8())); return;
    case BININT2: push(PickleGraph::integer(static_cast<std::int64_t>(readLittleEndian(2)))); return;
    case LONG1: push(readInteger(readLength(1))); return;
    case LONG4: push(readInteger(readSignedLength32("LONG4"))); return;
    case BINFLOAT: {
        const char *bytes = readBytes(8); // big-endian
        std::uint64_t bits = 0;
        for (std::size_t i = 0; i < 8; ++i)
            bits = (bits << 8) | static_cast<std::uint8_t>(bytes[i]);
        push(PickleGraph::real(std::bit_cast<double>(bits)));
        return;
    }

    case SHORT_BINUNICODE:
    case BINUNICODE:
    case BINUNICODE8:
    case SHORT_BINSTRING:
    case BINSTRING: {
        const std::size_t width = (opcode == SHORT_BINUNICODE || opcode == SHORT_BINSTRING) ? 1 : opcode == BINUNICODE8 ? 8 : 4;
        const std::size_t length = opcode == BINSTRING ? readSignedLength32("BINSTRING") : readLength(width);
        push(m_graph.addString(std::string(readBytes(length), length)));
        return;
    }
    case SHORT_BINBYTES:
    case BINBYTES:
    case BINBYTES8:
    case BYTEARRAY8: {
        const std::size_t width = opcode == SHORT_BINBYTES ? 1 : opcode == BINBYTES ? 4 : 8;
        const std::size_t length = readLength(width);
        push(m_graph.addString(std::string(readBytes(length), length), Kind::Bytes));
        return;
    }

    case EMPTY_TUPLE: push(m_graph.addContainer(Kind::Tuple)); return;
    case TUPLE: push(m_graph.addContainer(Kind::Tuple, popToMark())); return;
    case TUPLE1:
    case TUPLE2:
    case TUPLE3: {
        std::vector<PickleRef> items(static_cast<std::size_t>(opcode - TUPLE1 + 1));
        for (std::size_t i = items.size(); i-- > 0;)
            items[i] = pop();
        push(m_graph.addContainer(Kind::Tuple, std::move(items)));
        return;
    }
    case EMPTY_LIST: push(m_graph.addContainer(Kind::List)); return;
    case LIST: push(m_graph.addContainer(Kind::List, popToMark())); return;
    case APPEND: {
        const PickleRef item = pop();
        appendTo(top(), {item}, "APPEND");
        return;
    }
    case APPENDS: {
        std::vector<PickleRef> items = popToMark();
        appendTo(top(), std::move(items), "APPENDS");
        return;
    }
    case EMPTY_SET: push(m_graph.addContainer(Kind::List)); return; // sets are read as lists
    case FROZENSET: push(m_graph.addContainer(Kind::List, popToMark())); return;
    case ADDITEMS: {
        std::vector<PickleRef> items = popToMark();
        appendTo(top(), std::move(items), "ADDITEMS");
        return;
    }
    case EMPTY_DICT: push(m_graph.addContainer(Kind::Dict)); return;
    case DICT: {
        std::vector<PickleRef> items = popToMark();
        if (items.size() % 2 != 0)
            fail("DICT has a key without a value");
        push(m_graph.addContainer(Kind::Dict, std::move(items)));
        return;
    }
    case SETITEM: {
        const PickleRef value = pop();
        const PickleRef key = pop();
        setItems(top(), {key, value}, "SETITEM");
        return;
    }
    case SETITEMS: {
        std::vector<PickleRef> items = popToMark();
        setItems(top(), std::move(items), "SETITEMS");
        return;
    }

    case BINPUT: memoPut(readU8()); return;
    case LONG_BINPUT: memoPut(readLittleEndian(4)); return;
    case MEMOIZE: memoPut(m_memo.size()); return;
    case BINGET: memoGet(readU8()); return;
    case LONG_BINGET: memoGet(readLittleEndian(4)); return;

    case GLOBAL: {
        const std::string module = readLine();
        const std::string name = readLine();
        push(m_factory.global(m_graph, module, name));
        return;
    }
    case STACK_GLOBAL: {
        const PickleRef name = pop();
        const PickleRef module = pop();
        if (name.kind != Kind::String || module.kind != Kind::String)
            fail("STACK_GLOBAL expects two str, found " + m_graph.describe(module) + " and " + m_graph.describe(name));
        push(m_factory.global(m_graph, m_graph.string(module), m_graph.string(name)));
        return;
    }
    case REDUCE: {
        const PickleRef args = pop();
        PickleRef &callable = top();
        callable = m_factory.call(m_graph, callable, args);
        return;
    }
    case NEWOBJ: {
        const PickleRef args = pop();
        const PickleRef cls = pop();
        push(m_factory.call(m_graph, cls, args));
        return;
    }
    case NEWOBJ_EX: {
        const PickleRef kwargs = pop();
        const PickleRef args = pop();
        const PickleRef cls = pop();
        if (kwargs.kind != Kind::Dict || !m_graph.container(kwargs).items.empty())
            fail("NEWOBJ_EX with keyword arguments is not supported");
        push(m_factory.call(m_graph, cls, args));
        return;
    }
    case BUILD: {
        const PickleRef state = pop();
        m_factory.build(m_graph, top(), state);
        return;
    }
    case BINPERSID: {
        const PickleRef id = pop();
        push(m_factory.persistentLoad(m_graph, id));
        return;
    }
    default: break;
    }
    const char printable = (opcode >= 0x20 && opcode < 0x7f) ? static_cast<char>(opcode) : '\0';
    fail("unsupported pickle opcode " + hexByte(opcode) + (printable != '\0' ? std::string(" ('") + printable + "')" : std::string()));
}

} // namespace icmil::engine
