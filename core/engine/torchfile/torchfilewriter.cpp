// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/torchfile/torchfilewriter.h"

#include "common/partialfile.h"
#include "engine/engineerror.h"

#include <ATen/core/Dict.h>
#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/export.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <stdexcept>

namespace icmil::engine {

void writeFileAtomically(const std::filesystem::path &path, std::string_view bytes)
{
    try {
        icmil::writeFileAtomically(path, bytes);
    } catch (const std::runtime_error &e) {
        throw EngineError(e.what());
    }
}

void writeStateDict(const std::filesystem::path &path, const StateDict &state)
{
    c10::Dict<std::string, at::Tensor> dict;
    for (const auto &[key, tensor] : state.entries())
        dict.insert(key, tensor.detach().cpu()); // saved with location "cpu"
    writeTorchFile(path, dict);
}

void writeTorchFile(const std::filesystem::path &path, const c10::IValue &object)
{
    // What torch::pickle_save does, except for the type tags: pickle_save wraps every dict in
    // torch.jit._pickle.restore_type_tag(...), a global that a loader must trust. Without tags the
    // file holds plain dicts, like Python's torch.save(model.state_dict()). The pickler saves
    // each tensor's storage as it is: callers pass CPU tensors (writeStateDict does).
    std::vector<char> pickled;
    torch::jit::Pickler pickler([&](const char *data, std::size_t size) { pickled.insert(pickled.end(), data, data + size); },
                                /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                                /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
    pickler.protocol();
    pickler.pushIValue(object);
    pickler.stop();

    std::string bytes;
    caffe2::serialize::PyTorchStreamWriter zip([&](const void *data, std::size_t size) {
        bytes.append(static_cast<const char *>(data), size);
        return size;
    });
    // Records "archive/data.pkl", "archive/data/0", ... and "archive/version", as torch.save writes.
    torch::jit::writeArchiveAndTensors("data", pickled.data(), pickled.size(), pickler.tensorData(), zip);
    zip.writeEndOfFile();
    writeFileAtomically(path, bytes);
}

} // namespace icmil::engine
