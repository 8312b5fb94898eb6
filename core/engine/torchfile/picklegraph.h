// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// PickleGraph: the mutable object graph an unpickler builds (pickle fills containers after it has
// memoized them, so they need reference semantics while loading). Values are small PickleRef
// handles; strings, containers and tensors live in tables owned by the graph, so a hostile pickle
// that builds a reference cycle leaks nothing. freeze() turns a finished graph into an immutable
// PickleValue, refusing cycles and nesting deeper than a bound.

#include "engine/torchfile/picklevalue.h"

#include <torch/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace icmil::engine {

struct PickleRef {
    // Global: a whitelisted class or function (payload: its "module.name" in the string table).
    // Storage: a torch storage as a 1-D tensor (payload: index in the tensor table).
    enum class Kind : std::uint8_t { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Tensor, Global, Storage };

    Kind kind = Kind::None;
    std::int64_t payload = 0; // the bool/int value, the float's bits, or a table index

    bool isContainer() const { return kind == Kind::Tuple || kind == Kind::List || kind == Kind::Dict; }
};

class PickleGraph {
public:
    // Strings, containers and tensors together; a pickle that makes more objects than this is
    // refused (a real state dict makes a few per tensor).
    static constexpr std::size_t kMaxObjects = std::size_t{1} << 21;
    // Containers nested deeper than this are refused (Python's own recursion limit is 1000).
    static constexpr int kMaxNesting = 500;

    struct Container {
        PickleRef::Kind kind = PickleRef::Kind::List;
        bool ordered = false;         // an OrderedDict
        std::vector<PickleRef> items; // a dict's keys and values interleaved
    };

    static PickleRef none() { return {}; }
    static PickleRef boolean(bool value) { return {PickleRef::Kind::Bool, value ? 1 : 0}; }
    static PickleRef integer(std::int64_t value) { return {PickleRef::Kind::Int, value}; }
    static PickleRef real(double value);
    static double realValue(PickleRef ref);

    PickleRef addString(std::string text, PickleRef::Kind kind = PickleRef::Kind::String);
    PickleRef addGlobal(std::string qualifiedName);
    PickleRef addContainer(PickleRef::Kind kind, std::vector<PickleRef> items = {}, bool ordered = false);
    PickleRef addTensor(torch::Tensor tensor, PickleRef::Kind kind = PickleRef::Kind::Tensor);

    // Each checks the ref's kind and throws EngineError on a mismatch.
    const std::string &string(PickleRef ref) const; // String, Bytes or Global
    Container &container(PickleRef ref);
    const Container &container(PickleRef ref) const;
    const torch::Tensor &tensor(PickleRef ref) const; // Tensor or Storage

    // The immutable value `root` describes. Throws EngineError for a reference cycle, nesting
    // deeper than kMaxNesting, or a class/function reference left uncalled.
    PickleValue freeze(PickleRef root) const;

    // "None", "int", "str", "list", ..., "storage", "global 'torch.FloatStorage'".
    std::string describe(PickleRef ref) const;

private:
    void reserveObject();
    std::size_t index(PickleRef ref, std::size_t tableSize) const;
    struct FreezeMemo;
    PickleValue freezeRef(PickleRef ref, int depth, FreezeMemo &memo) const;

    std::vector<std::string> m_strings;
    std::vector<Container> m_containers;
    std::vector<torch::Tensor> m_tensors;
};

} // namespace icmil::engine
