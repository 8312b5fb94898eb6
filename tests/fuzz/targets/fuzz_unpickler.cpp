// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: the unpickler on raw pickle bytes, with the torch.save allow-list
// (TorchObjectFactory) and a storage loader that hands out small zero-filled storages (so tensor
// views, their sizes, strides and offsets are checked against a real storage), then freeze() and
// the flattening. EngineError is the documented outcome (c10::Error too: readTorchFile turns it
// into EngineError); any other exception is a finding, as are crashes and large allocations.

#include "engine/engineerror.h"
#include "engine/torchfile/picklegraph.h"
#include "engine/torchfile/pickleunpickler.h"
#include "engine/torchfile/torchfile.h"
#include "engine/torchfile/torchobjectfactory.h"
#include "engine/torchfile/torchstorageloader.h"

#include <c10/util/Exception.h>

#include <string_view>

namespace {

class SmallStorages : public icmil::engine::TorchStorageLoader {
public:
    torch::Tensor loadStorage(const std::string &key, c10::ScalarType dtype, std::int64_t numel, const std::string &) override
    {
        // A file's storage entry must hold numel elements; this stands in for a file of 64 KiB.
        if (numel < 0 || numel > 65536 / static_cast<std::int64_t>(c10::elementSize(dtype)))
            throw icmil::engine::EngineError("storage '" + key + "' is larger than the fuzz input's file");
        return torch::zeros({numel}, torch::TensorOptions().dtype(dtype));
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string_view bytes(reinterpret_cast<const char *>(data), size);
    try {
        SmallStorages storages;
        icmil::engine::PickleGraph graph;
        icmil::engine::TorchObjectFactory factory(&storages);
        icmil::engine::PickleUnpickler unpickler(graph, factory);
        std::size_t end = 0;
        const icmil::engine::PickleRef root = unpickler.load(bytes, 0, end);
        const icmil::engine::PickleValue value = graph.freeze(root);
        if (value.isDict()) {
            const icmil::engine::StateDict state = icmil::engine::flattenTensors(value);
            for (const auto &entry : state.entries())
                (void)entry.second.contiguous();
        }
    } catch (const icmil::engine::EngineError &) {
    } catch (const c10::Error &) { }
    return 0;
}
