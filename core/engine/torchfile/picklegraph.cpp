// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/picklegraph.h"

#include "engine/engineerror.h"

#include <bit>

namespace icmil::engine {

namespace {

enum FreezeState : std::uint8_t { NotVisited = 0, InProgress = 1, Done = 2 };

} // namespace

// One state byte and one frozen slot per container, and a frozen slot per string: a value the
// pickle shares (memo gets) is converted once and shared, so the result stays linear in the pickle.
struct PickleGraph::FreezeMemo {
    std::vector<std::uint8_t> state;
    std::vector<PickleValue> containers;
    std::vector<PickleValue> strings; // None until converted
};

PickleRef PickleGraph::real(double value)
{
    return {PickleRef::Kind::Float, std::bit_cast<std::int64_t>(value)};
}

double PickleGraph::realValue(PickleRef ref)
{
    return std::bit_cast<double>(ref.payload);
}

void PickleGraph::reserveObject()
{
    if (m_strings.size() + m_containers.size() + m_tensors.size() >= kMaxObjects)
        throw EngineError("the pickle creates more than " + std::to_string(kMaxObjects) + " objects");
}

PickleRef PickleGraph::addString(std::string text, PickleRef::Kind kind)
{
    reserveObject();
    m_strings.push_back(std::move(text));
    return {kind, static_cast<std::int64_t>(m_strings.size() - 1)};
}

PickleRef PickleGraph::addGlobal(std::string qualifiedName)
{
    return addString(std::move(qualifiedName), PickleRef::Kind::Global);
}

PickleRef PickleGraph::addContainer(PickleRef::Kind kind, std::vector<PickleRef> items, bool ordered)
{
    reserveObject();
    m_containers.push_back({kind, ordered, std::move(items)});
    return {kind, static_cast<std::int64_t>(m_containers.size() - 1)};
}

PickleRef PickleGraph::addTensor(torch::Tensor tensor, PickleRef::Kind kind)
{
    reserveObject();
    m_tensors.push_back(std::move(tensor));
    return {kind, static_cast<std::int64_t>(m_tensors.size() - 1)};
}

std::size_t PickleGraph::index(PickleRef ref, std::size_t tableSize) const
{
    if (ref.payload < 0 || static_cast<std::uint64_t>(ref.payload) >= tableSize)
        throw EngineError("internal error: a pickle reference points outside its table");
    return static_cast<std::size_t>(ref.payload);
}

const std::string &PickleGraph::string(PickleRef ref) const
{
    if (ref.kind != PickleRef::Kind::String && ref.kind != PickleRef::Kind::Bytes && ref.kind != PickleRef::Kind::Global)
        throw EngineError("expected a str, found " + describe(ref));
    return m_strings[index(ref, m_strings.size())];
}

PickleGraph::Container &PickleGraph::container(PickleRef ref)
{
    if (!ref.isContainer())
        throw EngineError("expected a container, found " + describe(ref));
    return m_containers[index(ref, m_containers.size())];
}

const PickleGraph::Container &PickleGraph::container(PickleRef ref) const
{
    if (!ref.isContainer())
        throw EngineError("expected a container, found " + describe(ref));
    return m_containers[index(ref, m_containers.size())];
}

const torch::Tensor &PickleGraph::tensor(PickleRef ref) const
{
    if (ref.kind != PickleRef::Kind::Tensor && ref.kind != PickleRef::Kind::Storage)
        throw EngineError("expected a tensor, found " + describe(ref));
    return m_tensors[index(ref, m_tensors.size())];
}

std::string PickleGraph::describe(PickleRef ref) const
{
    using Kind = PickleRef::Kind;
    switch (ref.kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "a bool";
    case Kind::Int: return "an int";
    case Kind::Float: return "a float";
    case Kind::String: return "a str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "a tuple";
    case Kind::List: return "a list";
    case Kind::Dict: return "a dict";
    case Kind::Tensor: return "a tensor";
    case Kind::Storage: return "a storage";
    case Kind::Global:
        if (ref.payload >= 0 && static_cast<std::uint64_t>(ref.payload) < m_strings.size())
            return "'" + m_strings[static_cast<std::size_t>(ref.payload)] + "'";
        return "a global";
    }
    return "an unknown value";
}

PickleValue PickleGraph::freeze(PickleRef root) const
{
    FreezeMemo memo{std::vector<std::uint8_t>(m_containers.size(), NotVisited), std::vector<PickleValue>(m_containers.size()),
                    std::vector<PickleValue>(m_strings.size())};
    return freezeRef(root, 0, memo);
}

PickleValue PickleGraph::freezeRef(PickleRef ref, int depth, FreezeMemo &memo) const
{
    using Kind = PickleRef::Kind;
    switch (ref.kind) {
    case Kind::None: return {};
    case Kind::Bool: return PickleValue::boolean(ref.payload != 0);
    case Kind::Int: return PickleValue::integer(ref.payload);
    case Kind::Float: return PickleValue::real(realValue(ref));
    case Kind::String:
    case Kind::Bytes: {
        PickleValue &slot = memo.strings[index(ref, m_strings.size())];
        if (slot.isNone())
            slot = ref.kind == Kind::String ? PickleValue::string(string(ref)) : PickleValue::bytes(string(ref));
        return slot;
    }
    case Kind::Tensor:
    case Kind::Storage: return PickleValue::tensor(tensor(ref));
    case Kind::Global: throw EngineError("the pickle leaves " + describe(ref) + " uncalled, which a weights file never does");
    case Kind::Tuple:
    case Kind::List:
    case Kind::Dict: break;
    }

    const std::size_t slot = index(ref, m_containers.size());
    if (memo.state[slot] == Done)
        return memo.containers[slot];
    if (memo.state[slot] == InProgress)
        throw EngineError("the pickle holds a container that contains itself (a reference cycle)");
    if (depth >= kMaxNesting)
        throw EngineError("the pickle nests containers more than " + std::to_string(kMaxNesting) + " levels deep");

    memo.state[slot] = InProgress;
    const Container &source = m_containers[slot];
    PickleValue result;
    if (ref.kind == Kind::Dict) {
        PickleValue::Entries entries;
        entries.reserve(source.items.size() / 2);
        for (std::size_t i = 0; i + 1 < source.items.size(); i += 2) {
            PickleValue key = freezeRef(source.items[i], depth + 1, memo);
            PickleValue value = freezeRef(source.items[i + 1], depth + 1, memo);
            entries.emplace_back(std::move(key), std::move(value));
        }
        result = PickleValue::dict(std::move(entries), source.ordered);
    } else {
        PickleValue::Items items;
        items.reserve(source.items.size());
        for (const PickleRef item : source.items)
            items.push_back(freezeRef(item, depth + 1, memo));
        result = ref.kind == Kind::Tuple ? PickleValue::tuple(std::move(items)) : PickleValue::list(std::move(items));
    }
    memo.state[slot] = Done;
    memo.containers[slot] = result;
    return result;
}

} // namespace icmil::engine
