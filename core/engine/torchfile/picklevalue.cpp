// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/picklevalue.h"

#include "engine/engineerror.h"

namespace icmil::engine {

PickleValue::PickleValue(Kind kind, Payload payload, bool ordered) : m_kind(kind), m_ordered(ordered), m_payload(std::move(payload))
{ }

PickleValue PickleValue::boolean(bool value)
{
    return {Kind::Bool, value};
}
PickleValue PickleValue::integer(std::int64_t value)
{
    return {Kind::Int, value};
}
PickleValue PickleValue::real(double value)
{
    return {Kind::Float, value};
}

PickleValue PickleValue::string(std::string text)
{
    return {Kind::String, std::make_shared<const std::string>(std::move(text))};
}

PickleValue PickleValue::bytes(std::string data)
{
    return {Kind::Bytes, std::make_shared<const std::string>(std::move(data))};
}

PickleValue PickleValue::tuple(Items items)
{
    return {Kind::Tuple, std::make_shared<const Items>(std::move(items))};
}

PickleValue PickleValue::list(Items items)
{
    return {Kind::List, std::make_shared<const Items>(std::move(items))};
}

PickleValue PickleValue::dict(Entries entries, bool ordered)
{
    return {Kind::Dict, std::make_shared<const Entries>(std::move(entries)), ordered};
}

PickleValue PickleValue::tensor(torch::Tensor tensor)
{
    return {Kind::Tensor, std::move(tensor)};
}

bool PickleValue::toBool() const
{
    if (m_kind != Kind::Bool)
        throwWrongKind("a bool");
    return std::get<bool>(m_payload);
}

std::int64_t PickleValue::toInt() const
{
    if (m_kind != Kind::Int)
        throwWrongKind("an int");
    return std::get<std::int64_t>(m_payload);
}

double PickleValue::toDouble() const
{
    if (m_kind == Kind::Int)
        return static_cast<double>(std::get<std::int64_t>(m_payload));
    if (m_kind != Kind::Float)
        throwWrongKind("a float");
    return std::get<double>(m_payload);
}

const std::string &PickleValue::toStringRef() const
{
    if (m_kind != Kind::String && m_kind != Kind::Bytes)
        throwWrongKind("a str");
    return *std::get<std::shared_ptr<const std::string>>(m_payload);
}

const PickleValue::Items &PickleValue::items() const
{
    if (!isSequence())
        throwWrongKind("a tuple or list");
    return *std::get<std::shared_ptr<const Items>>(m_payload);
}

const PickleValue::Entries &PickleValue::entries() const
{
    if (m_kind != Kind::Dict)
        throwWrongKind("a dict");
    return *std::get<std::shared_ptr<const Entries>>(m_payload);
}

const torch::Tensor &PickleValue::toTensor() const
{
    if (m_kind != Kind::Tensor)
        throwWrongKind("a Tensor");
    return std::get<torch::Tensor>(m_payload);
}

const PickleValue *PickleValue::find(std::string_view key) const
{
    if (m_kind != Kind::Dict)
        return nullptr;
    const auto &all = entries();
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (it->first.isString() && it->first.toStringRef() == key)
            return &it->second;
    }
    return nullptr;
}

std::string PickleValue::typeName() const
{
    return isOrderedDict() ? "OrderedDict" : kindName(m_kind);
}

std::string PickleValue::kindName(Kind kind)
{
    switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int: return "int";
    case Kind::Float: return "float";
    case Kind::String: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::Tuple: return "tuple";
    case Kind::List: return "list";
    case Kind::Dict: return "dict";
    case Kind::Tensor: return "Tensor";
    }
    return "unknown";
}

void PickleValue::throwWrongKind(const char *expected) const
{
    throw EngineError(std::string("expected ") + expected + ", found a value of type " + typeName());
}

} // namespace icmil::engine
