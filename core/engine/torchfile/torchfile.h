// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Reads files written by Python's torch.save without Python: the zip format (PyTorch >= 1.6, and
// LibTorch's torch::pickle_save) and the legacy format (_use_new_zipfile_serialization=False).
// The input is treated as untrusted: every size, index and offset is checked, nothing is ever
// executed, and only the globals a weights file needs are accepted (collections.OrderedDict,
// torch._utils._rebuild_tensor(_v2), torch._utils._rebuild_parameter(_with_state), torch.Size,
// torch.*Storage, the builtins pickle protocol 2 uses for bytes and sets, and the type tags of
// LibTorch's torch::pickle_save: see torchobjectfactory.h). Every member of a zip-format file is
// CRC-checked ("checkpoint damaged: archive/data/0 fails its CRC check"); the legacy format has
// no checksum, so a changed byte inside a legacy storage cannot be told from a real weight.
// Non-finite values are read as they are (see requireFiniteTensors in statedictloader.h).

#include "engine/torchfile/picklevalue.h"
#include "engine/torchfile/statedict.h"

#include <filesystem>
#include <string>

namespace icmil::engine {

// Reads the object a torch.save file holds (zip or legacy format). Tensors come back on the CPU
// (storages saved from "cuda"/"cuda:N" included), with their dtype, shape, strides and storage
// offset; tensors that shared a storage in Python share one here. requires_grad is not restored.
// An OrderedDict's attributes (a state dict's `_metadata`) are dropped.
// Throws EngineError "Cannot read PyTorch file '<path>': <cause>" for a missing, truncated,
// corrupted or unsupported file.
PickleValue readTorchFile(const std::filesystem::path &path);

// readTorchFile, then every tensor reachable through nested dicts (dict and OrderedDict), flattened
// to dotted keys in file order ("layer1.0.conv1.weight", "dim_reduction.fc1.weight"); `_metadata`
// entries and non-tensor leaves (lists included) are skipped; int keys are written in decimal
// ("optimizer.state.0.exp_avg"). Throws EngineError as above, or when the file holds no tensors.
StateDict readStateDict(const std::filesystem::path &path);

// What readStateDict does to a file's object, for one dict of it: its tensors as dotted keys under
// `prefix` ("dim_reduction" gives "dim_reduction.fc1.weight"). Throws EngineError when `dict` is not
// a dict ("it holds a list, not a dict of tensors"); an empty dict gives an empty StateDict.
StateDict flattenTensors(const PickleValue &dict, const std::string &prefix = {});

} // namespace icmil::engine
