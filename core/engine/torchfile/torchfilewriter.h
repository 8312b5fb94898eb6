// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Writing the files the engine's reader (torchfile.h) reads back, atomically.

#include "engine/torchfile/statedict.h"

#include <ATen/core/ivalue.h>

#include <filesystem>
#include <string_view>

namespace icmil::engine {

// icmil::writeFileAtomically (common/partialfile.h: "<path>.partial", fsync, rename, directory
// fsync) with the engine's error type: a crash never leaves a half-written `path`. Throws
// EngineError "Cannot write 'x': <reason>".
void writeFileAtomically(const std::filesystem::path &path, std::string_view bytes);

// Writes a state dict atomically in PyTorch's zip serialisation (what torch.save writes since 1.6):
// a plain dict of tensors in order, without the type tags torch::pickle_save adds. Python's
// torch.load() reads it as a dict, and so does readStateDict(). Tensors on another device are
// written as CPU tensors.
void writeStateDict(const std::filesystem::path &path, const StateDict &state);

// Writes any object of dicts (string keys), lists, strings, ints, floats, bools and tensors
// atomically in the same zip serialisation, without type tags: torch.load() gives plain Python
// dicts and lists, readTorchFile() the same tree. Pass CPU tensors (the location saved is theirs).
void writeTorchFile(const std::filesystem::path &path, const c10::IValue &object);

} // namespace icmil::engine
