// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/torchobjectfactory.h"

#include "engine/engineerror.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

namespace icmil::engine {

namespace {

using Kind = PickleRef::Kind;
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
// A view may address more elements than its storage holds (stride 0, as expand() makes) up to this.
constexpr std::int64_t kMaxRepeatedElements = std::int64_t{1} << 28;

constexpr std::array<std::pair<std::string_view, c10::ScalarType>, 13> kStorageTypes{{
    {"FloatStorage", c10::ScalarType::Float},
    {"DoubleStorage", c10::ScalarType::Double},
    {"HalfStorage", c10::ScalarType::Half},
    {"BFloat16Storage", c10::ScalarType::BFloat16},
    {"LongStorage", c10::ScalarType::Long},
    {"IntStorage", c10::ScalarType::Int},
    {"ShortStorage", c10::ScalarType::Short},
    {"CharStorage", c10::ScalarType::Char},
    {"ByteStorage", c10::ScalarType::Byte},
    {"BoolStorage", c10::ScalarType::Bool},
    {"ComplexFloatStorage", c10::ScalarType::ComplexFloat},
    {"ComplexDoubleStorage", c10::ScalarType::ComplexDouble},
    {"UntypedStorage", c10::ScalarType::Byte},
}};

constexpr std::array<std::string_view, 19> kCallables{
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch.nn.parameter.Parameter",
    "torch.Size",
    "builtins.set",
    "builtins.frozenset",
    "builtins.bytes",
    "__builtin__.set",
    "__builtin__.frozenset",
    "__builtin__.bytes",
    "_codecs.encode",
    "torch.jit._pickle.restore_type_tag",
    "torch.jit._pickle.build_intlist",
    "torch.jit._pickle.build_doublelist",
    "torch.jit._pickle.build_boollist",
    "torch.jit._pickle.build_tensorlist",
};

// a * b and a + b for non-negative int64 values; false on overflow.
bool multiply(std::int64_t a, std::int64_t b, std::int64_t &result)
{
    if (a != 0 && b > kInt64Max / a)
        return false;
    result = a * b;
    return true;
}

bool add(std::int64_t a, std::int64_t b, std::int64_t &result)
{
    if (b > kInt64Max - a)
        return false;
    result = a + b;
    return true;
}

bool isText(PickleRef ref)
{
    return ref.kind == Kind::String || ref.kind == Kind::Bytes;
}

std::int64_t nonNegativeInt(const PickleGraph &graph, PickleRef ref, const std::string &what)
{
    if (ref.kind != Kind::Int)
        throw EngineError(what + " should be an int, found " + graph.describe(ref));
    if (ref.payload < 0)
        throw EngineError(what + " is negative (" + std::to_string(ref.payload) + ")");
    return ref.payload;
}

std::vector<std::int64_t> intSequence(const PickleGraph &graph, PickleRef ref, const std::string &what)
{
    if (ref.kind != Kind::Tuple && ref.kind != Kind::List)
        throw EngineError(what + " should be a tuple of ints, found " + graph.describe(ref));
    const auto &items = graph.container(ref).items;
    if (items.size() > TorchObjectFactory::kMaxDims)
        throw EngineError(what + " has " + std::to_string(items.size()) + " dimensions, more than "
                          + std::to_string(TorchObjectFactory::kMaxDims));
    std::vector<std::int64_t> values;
    for (const PickleRef item : items)
        values.push_back(nonNegativeInt(graph, item, what + " entry"));
    return values;
}

// The EngineError for a whitelisted callable given arguments it does not take.
EngineError wrongArguments(const std::string &callee, const std::string &what)
{
    return EngineError("'" + callee + "' is called with wrong arguments: " + what);
}

// "(a str, an int), not <signature>": what was given against what the callable takes.
EngineError wrongArguments(const PickleGraph &graph, const std::string &callee, const std::vector<PickleRef> &args,
                           const std::string &signature)
{
    std::string given = "(";
    for (std::size_t i = 0; i < args.size(); ++i)
        given += (i ? ", " : "") + graph.describe(args[i]);
    return wrongArguments(callee, given + "), not " + signature);
}

std::string shape(const std::vector<std::int64_t> &sizes)
{
    std::string text = "[";
    for (std::size_t i = 0; i < sizes.size(); ++i)
        text += (i ? ", " : "") + std::to_string(sizes[i]);
    return text + "]";
}

} // namespace

TorchObjectFactory::TorchObjectFactory(TorchStorageLoader *loader) : m_loader(loader)
{ }

std::optional<c10::ScalarType> TorchObjectFactory::storageDtype(std::string_view name)
{
    for (const std::string_view prefix : {std::string_view("torch.cuda."), std::string_view("torch.")}) {
        if (name.substr(0, prefix.size()) != prefix)
            continue;
        for (const auto &[type, dtype] : kStorageTypes) {
            if (name.substr(prefix.size()) == type)
                return dtype;
        }
    }
    return std::nullopt;
}

PickleRef TorchObjectFactory::global(PickleGraph &graph, const std::string &module, const std::string &name)
{
    std::string qualified = module + "." + name;
    bool allowed = storageDtype(qualified).has_value();
    for (const std::string_view callable : kCallables)
        allowed = allowed || qualified == callable;
    if (!allowed)
        throw EngineError("refusing to load '" + qualified
                          + "': a weights file holds only tensors, dicts "
                            "and plain values, and this reader runs no code from files");
    return graph.addGlobal(std::move(qualified));
}

const std::vector<PickleRef> &TorchObjectFactory::arguments(const PickleGraph &graph, PickleRef args, const std::string &callee) const
{
    if (args.kind != Kind::Tuple)
        throw EngineError("the arguments to '" + callee + "' should be a tuple, found " + graph.describe(args));
    return graph.container(args).items;
}

PickleRef TorchObjectFactory::call(PickleGraph &graph, PickleRef callable, PickleRef argsRef)
{
    if (callable.kind != Kind::Global)
        throw EngineError("the pickle calls " + graph.describe(callable) + ", which is not a class or function");
    const std::string callee = graph.string(callable);
    const std::vector<PickleRef> args = arguments(graph, argsRef, callee);
    const auto wrong = [&](const char *signature) { return wrongArguments(graph, callee, args, signature); };

    if (callee == "collections.OrderedDict")
        return orderedDict(graph, args);
    if (callee == "torch._utils._rebuild_tensor_v2" || callee == "torch._utils._rebuild_tensor")
        return rebuildTensor(graph, args, callee);
    if (callee == "torch._utils._rebuild_parameter" || callee == "torch._utils._rebuild_parameter_with_state"
        || callee == "torch.nn.parameter.Parameter") {
        if (args.empty() || args.size() > 4 || args[0].kind != Kind::Tensor)
            throw wrong("(tensor[, requires_grad, hooks, state])");
        return args[0]; // requires_grad and hooks do not matter to a reader of weights
    }
    if (callee == "torch.jit._pickle.restore_type_tag") {
        // LibTorch's pickler tags typed dicts and lists: restore_type_tag(value, "Dict[str, Tensor]").
        if (args.size() != 2 || !args[0].isContainer())
            throw wrong("(container, type name)");
        return args[0];
    }
    if (callee.starts_with("torch.jit._pickle.build_")) {
        // LibTorch's List[int], List[float], List[bool], List[Tensor]: build_intlist([...]).
        if (args.size() != 1 || args[0].kind != Kind::List)
            throw wrong("(list)");
        return args[0];
    }
    if (callee == "torch.Size") {
        if (args.size() > 1 || (args.size() == 1 && args[0].kind != Kind::List && args[0].kind != Kind::Tuple))
            throw wrong("([list or tuple])");
        return graph.addContainer(Kind::Tuple, args.empty() ? std::vector<PickleRef>{} : graph.container(args[0]).items);
    }
    if (callee.ends_with(".set") || callee.ends_with(".frozenset")) {
        if (args.size() > 1 || (args.size() == 1 && args[0].kind != Kind::List && args[0].kind != Kind::Tuple))
            throw wrong("([list or tuple])");
        return graph.addContainer(Kind::List, args.empty() ? std::vector<PickleRef>{} : graph.container(args[0]).items);
    }
    if (callee.ends_with(".bytes")) {
        if (!args.empty())
            throw wrong("()");
        return graph.addString({}, Kind::Bytes);
    }
    if (callee == "_codecs.encode")
        return encodedBytes(graph, args);
    throw EngineError("the pickle calls '" + callee + "', which only names a type here");
}

PickleRef TorchObjectFactory::orderedDict(PickleGraph &graph, const std::vector<PickleRef> &args)
{
    const PickleRef dict = graph.addContainer(Kind::Dict, {}, true);
    if (args.empty())
        return dict;
    if (args.size() != 1 || (args[0].kind != Kind::List && args[0].kind != Kind::Tuple))
        throw wrongArguments(graph, "collections.OrderedDict", args, "([list of key-value pairs])");
    std::vector<PickleRef> entries;
    for (const PickleRef pair : graph.container(args[0]).items) {
        if ((pair.kind != Kind::Tuple && pair.kind != Kind::List) || graph.container(pair).items.size() != 2)
            throw wrongArguments("collections.OrderedDict", "an item of its list is not a key-value pair");
        entries.push_back(graph.container(pair).items[0]);
        entries.push_back(graph.container(pair).items[1]);
    }
    graph.container(dict).items = std::move(entries);
    return dict;
}

PickleRef TorchObjectFactory::encodedBytes(PickleGraph &graph, const std::vector<PickleRef> &args)
{
    // Protocol 2 writes bytes b as _codecs.encode(b.decode('latin1'), 'latin1').
    if (args.size() != 2 || args[0].kind != Kind::String || args[1].kind != Kind::String
        || (graph.string(args[1]) != "latin1" && graph.string(args[1]) != "latin-1"))
        throw wrongArguments(graph, "_codecs.encode", args, "(str, 'latin1')");
    const std::string &text = graph.string(args[0]);
    std::string bytes;
    bytes.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto lead = static_cast<std::uint8_t>(text[i]);
        if (lead < 0x80) {
            bytes.push_back(static_cast<char>(lead));
        } else if ((lead & 0xfe) == 0xc2 && i + 1 < text.size() && (static_cast<std::uint8_t>(text[i + 1]) & 0xc0) == 0x80) {
            // U+0080..U+00FF: two UTF-8 bytes
            bytes.push_back(static_cast<char>(((lead & 0x03) << 6) | (static_cast<std::uint8_t>(text[i + 1]) & 0x3f)));
            ++i;
        } else {
            throw wrongArguments("_codecs.encode", "its text is not latin1");
        }
    }
    return graph.addString(std::move(bytes), Kind::Bytes);
}

PickleRef TorchObjectFactory::rebuildTensor(PickleGraph &graph, const std::vector<PickleRef> &args, const std::string &callee)
{
    const bool v2 = callee.ends_with("_v2");
    if (args.size() < 4 || args.size() > (v2 ? 7u : 4u))
        throw wrongArguments(graph, callee, args,
                             v2 ? "(storage, offset, size, stride[, requires_grad, hooks, metadata])" : "(storage, offset, size, stride)");
    if (args[0].kind != Kind::Storage)
        throw wrongArguments(callee, "a tensor's storage should be a storage, found " + graph.describe(args[0]));
    const torch::Tensor &storage = graph.tensor(args[0]);
    std::int64_t offset = 0;
    std::vector<std::int64_t> sizes;
    std::vector<std::int64_t> strides;
    try {
        offset = nonNegativeInt(graph, args[1], "a tensor's storage offset");
        sizes = intSequence(graph, args[2], "a tensor's size");
        strides = intSequence(graph, args[3], "a tensor's stride");
    } catch (const EngineError &error) {
        throw wrongArguments(callee, error.what());
    }
    if (sizes.size() != strides.size())
        throw wrongArguments(callee,
                             "a tensor has " + std::to_string(sizes.size()) + " sizes but " + std::to_string(strides.size()) + " strides");

    // The elements it addresses must lie inside its storage: offset + sum((size - 1) * stride).
    // The product of its sizes must not overflow, even with a zero among them.
    std::int64_t product = 1;
    bool empty = false;
    bool ok = true;
    for (std::size_t i = 0; i < sizes.size() && ok; ++i) {
        ok = multiply(product, std::max<std::int64_t>(sizes[i], 1), product);
        empty = empty || sizes[i] == 0;
    }
    const std::int64_t numel = empty ? 0 : product;
    std::int64_t bytes = 0;
    ok = ok && multiply(product, static_cast<std::int64_t>(storage.element_size()), bytes);
    std::int64_t last = offset;
    for (std::size_t i = 0; i < sizes.size() && ok && !empty; ++i) {
        std::int64_t span = 0;
        ok = multiply(sizes[i] - 1, strides[i], span) && add(last, span, last);
    }
    const std::int64_t available = storage.numel();
    if (!ok || (!empty && last >= available) || (empty && offset > available))
        throw EngineError("a tensor of shape " + shape(sizes) + ", stride " + shape(strides) + " and offset " + std::to_string(offset)
                          + " does not fit in its storage of " + std::to_string(available) + " elements");
    // Stride 0 lets a small storage stand for a huge tensor; a weights file has no reason to.
    if (numel > available && numel > kMaxRepeatedElements)
        throw EngineError("a tensor of shape " + shape(sizes) + " repeats the " + std::to_string(available)
                          + " elements of its storage more than a weights file would");
    torch::Tensor tensor = storage.as_strided(sizes, strides, storage.storage_offset() + offset);
    return graph.addTensor(std::move(tensor));
}

void TorchObjectFactory::build(PickleGraph &graph, PickleRef target, PickleRef state)
{
    (void)state;
    if (target.kind == Kind::Dict)
        return; // an OrderedDict's attributes (a state dict's _metadata): not needed
    throw EngineError("the pickle sets the state of " + graph.describe(target) + "; only an OrderedDict's attributes are accepted");
}

PickleRef TorchObjectFactory::persistentLoad(PickleGraph &graph, PickleRef id)
{
    if (m_loader == nullptr)
        throw EngineError("the pickle refers to a storage where a file holds none");
    if (id.kind != Kind::Tuple)
        throw EngineError("a persistent id should be a tuple, found " + graph.describe(id));
    const auto &fields = graph.container(id).items;
    if (fields.empty() || !isText(fields[0]) || graph.string(fields[0]) != "storage")
        throw EngineError("the pickle holds a persistent id that is not a storage (a whole pickled model?)");
    if (fields.size() != 5 && fields.size() != 6)
        throw EngineError("a storage's persistent id has " + std::to_string(fields.size()) + " fields, not 5 or 6");
    if (fields[1].kind != Kind::Global || !storageDtype(graph.string(fields[1])))
        throw EngineError("a storage's type should be a torch storage class, found " + graph.describe(fields[1]));
    if (!isText(fields[2]) || !isText(fields[3]))
        throw EngineError("a storage's key and location should be str");
    const c10::ScalarType dtype = *storageDtype(graph.string(fields[1]));
    const std::string key = graph.string(fields[2]);
    const std::string location = graph.string(fields[3]);
    const std::int64_t numel = nonNegativeInt(graph, fields[4], "storage '" + key + "' element count");
    std::int64_t bytes = 0;
    if (!multiply(numel, static_cast<std::int64_t>(c10::elementSize(dtype)), bytes))
        throw EngineError("storage '" + key + "' declares " + std::to_string(numel) + " elements, too many to address");

    auto found = m_storages.find(key);
    if (found == m_storages.end()) {
        torch::Tensor tensor = m_loader->loadStorage(key, dtype, numel, location);
        const PickleRef ref = graph.addTensor(std::move(tensor), Kind::Storage);
        found = m_storages.emplace(key, Storage{ref, dtype, numel}).first;
    } else if (found->second.dtype != dtype || found->second.numel != numel) {
        throw EngineError("storage '" + key + "' is declared twice with different types or sizes");
    }
    if (fields.size() == 6 && fields[5].kind != Kind::None)
        return storageView(graph, found->second, fields[5]);
    return found->second.ref;
}

PickleRef TorchObjectFactory::storageView(PickleGraph &graph, const Storage &root, PickleRef metadata)
{
    // Legacy files from before PyTorch 0.4 could save a view of a storage: (view_key, offset, size).
    if (metadata.kind != Kind::Tuple || graph.container(metadata).items.size() != 3 || !isText(graph.container(metadata).items[0]))
        throw EngineError("a storage view's metadata should be (key, offset, size), found " + graph.describe(metadata));
    const auto fields = graph.container(metadata).items;
    const std::string viewKey = graph.string(fields[0]);
    const std::int64_t offset = nonNegativeInt(graph, fields[1], "storage view '" + viewKey + "' offset");
    const std::int64_t size = nonNegativeInt(graph, fields[2], "storage view '" + viewKey + "' size");
    if (const auto found = m_views.find(viewKey); found != m_views.end())
        return found->second;
    std::int64_t end = 0;
    if (!add(offset, size, end) || end > root.numel)
        throw EngineError("storage view '" + viewKey + "' lies outside its storage");
    torch::Tensor view = graph.tensor(root.ref).narrow(0, offset, size);
    const PickleRef ref = graph.addTensor(std::move(view), Kind::Storage);
    m_views.emplace(viewKey, ref);
    return ref;
}

} // namespace icmil::engine
