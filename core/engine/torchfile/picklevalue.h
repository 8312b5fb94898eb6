// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// PickleValue: the object a torch.save file holds, as a small immutable tree (a DAG where the
// pickle shared a value; never a cycle). Copies are cheap: containers and strings are shared.

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace icmil::engine {

class PickleValue {
public:
    // Python's None, bool, int (64-bit), float, str (UTF-8), bytes, tuple, list (sets are read as
    // lists), dict (OrderedDict too: isOrderedDict()), and tensors (torch.Tensor, nn.Parameter,
    // a bare storage as a 1-D tensor).
    enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Tensor };

    using Items = std::vector<PickleValue>;
    using Entry = std::pair<PickleValue, PickleValue>;
    // In file order, as the pickle set them. A key the pickle set twice appears twice; the later
    // entry is the value Python would see (find() returns it).
    using Entries = std::vector<Entry>;

    PickleValue() = default; // None
    static PickleValue boolean(bool value);
    static PickleValue integer(std::int64_t value);
    static PickleValue real(double value);
    static PickleValue string(std::string text);
    static PickleValue bytes(std::string data);
    static PickleValue tuple(Items items);
    static PickleValue list(Items items);
    static PickleValue dict(Entries entries, bool ordered = false);
    static PickleValue tensor(torch::Tensor tensor);

    Kind kind() const { return m_kind; }
    bool isNone() const { return m_kind == Kind::None; }
    bool isString() const { return m_kind == Kind::String; }
    bool isDict() const { return m_kind == Kind::Dict; }
    bool isTensor() const { return m_kind == Kind::Tensor; }
    bool isSequence() const { return m_kind == Kind::Tuple || m_kind == Kind::List; }
    bool isOrderedDict() const { return m_kind == Kind::Dict && m_ordered; }

    // Typed access; each throws EngineError ("expected an int, found a str") on the wrong kind.
    bool toBool() const;
    std::int64_t toInt() const;
    double toDouble() const;                // a float, or an int converted
    const std::string &toStringRef() const; // str or bytes
    const Items &items() const;             // tuple or list
    const Entries &entries() const;         // dict
    const torch::Tensor &toTensor() const;

    // The value of the last entry whose key is the str `key`; nullptr when absent or not a dict.
    const PickleValue *find(std::string_view key) const;

    // "None", "bool", "int", "float", "str", "bytes", "tuple", "list", "dict", "OrderedDict", "Tensor".
    std::string typeName() const;
    static std::string kindName(Kind kind);

private:
    using Payload = std::variant<std::monostate, bool, std::int64_t, double, std::shared_ptr<const std::string>,
                                 std::shared_ptr<const Items>, std::shared_ptr<const Entries>, torch::Tensor>;

    PickleValue(Kind kind, Payload payload, bool ordered = false);
    [[noreturn]] void throwWrongKind(const char *expected) const;

    Kind m_kind = Kind::None;
    bool m_ordered = false;
    Payload m_payload;
};

} // namespace icmil::engine
