// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// TorchObjectFactory: the whitelist of classes and functions a torch.save weights file may name,
// and what each builds. Everything else is refused by name; nothing is ever executed.
//
//   collections.OrderedDict                      -> an ordered dict (its attributes, e.g. a state
//                                                   dict's _metadata, are dropped)
//   torch._utils._rebuild_tensor(_v2)            -> a tensor viewing a storage (checked bounds)
//   torch._utils._rebuild_parameter(_with_state),
//   torch.nn.parameter.Parameter                 -> the parameter's tensor
//   torch.Size                                   -> a tuple
//   torch.<T>Storage, torch.cuda.<T>Storage      -> storage types in persistent ids
//   builtins/__builtin__ set, frozenset, bytes,
//   _codecs.encode                               -> what pickle protocol 2 writes for sets and bytes
//   torch.jit._pickle.restore_type_tag,
//   torch.jit._pickle.build_{int,double,bool,tensor}list
//                                                -> LibTorch's torch::pickle_save type tags: the value

#include "engine/torchfile/pickleobjectfactory.h"
#include "engine/torchfile/torchstorageloader.h"

#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace icmil::engine {

class TorchObjectFactory : public PickleObjectFactory {
public:
    static constexpr std::size_t kMaxDims = 64;

    // `loader` may be null for pickles that hold no storages (legacy torch.save's header pickles).
    explicit TorchObjectFactory(TorchStorageLoader *loader);

    PickleRef global(PickleGraph &graph, const std::string &module, const std::string &name) override;
    PickleRef call(PickleGraph &graph, PickleRef callable, PickleRef args) override;
    void build(PickleGraph &graph, PickleRef target, PickleRef state) override;
    PickleRef persistentLoad(PickleGraph &graph, PickleRef persistentId) override;

    // The dtype of "torch.FloatStorage", "torch.cuda.HalfStorage", ...; nullopt for anything else.
    static std::optional<c10::ScalarType> storageDtype(std::string_view qualifiedName);

private:
    struct Storage {
        PickleRef ref;
        c10::ScalarType dtype;
        std::int64_t numel;
    };

    const std::vector<PickleRef> &arguments(const PickleGraph &graph, PickleRef args, const std::string &callee) const;
    PickleRef rebuildTensor(PickleGraph &graph, const std::vector<PickleRef> &args, const std::string &callee);
    PickleRef orderedDict(PickleGraph &graph, const std::vector<PickleRef> &args);
    PickleRef encodedBytes(PickleGraph &graph, const std::vector<PickleRef> &args);
    PickleRef storageView(PickleGraph &graph, const Storage &root, PickleRef viewMetadata);

    TorchStorageLoader *m_loader;
    std::unordered_map<std::string, Storage> m_storages;
    std::unordered_map<std::string, PickleRef> m_views;
};

} // namespace icmil::engine
