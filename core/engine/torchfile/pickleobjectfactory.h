// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// PickleObjectFactory: what a PickleUnpickler asks about the opcodes that would run code in
// Python (GLOBAL, REDUCE, NEWOBJ, BUILD, BINPERSID). The unpickler itself knows no classes; an
// implementation decides what it allows (TorchObjectFactory: a torch.save whitelist).

#include "engine/torchfile/picklegraph.h"

#include <string>

namespace icmil::engine {

class PickleObjectFactory {
public:
    virtual ~PickleObjectFactory() = default;

    // GLOBAL / STACK_GLOBAL: a reference to `module.name`, or EngineError when it is not allowed.
    virtual PickleRef global(PickleGraph &graph, const std::string &module, const std::string &name) = 0;
    // REDUCE / NEWOBJ: `callable` (a ref global() made) applied to the tuple `args`.
    virtual PickleRef call(PickleGraph &graph, PickleRef callable, PickleRef args) = 0;
    // BUILD: applies `state` to `target` (Python's __setstate__).
    virtual void build(PickleGraph &graph, PickleRef target, PickleRef state) = 0;
    // BINPERSID: the object a persistent id stands for.
    virtual PickleRef persistentLoad(PickleGraph &graph, PickleRef persistentId) = 0;
};

} // namespace icmil::engine
