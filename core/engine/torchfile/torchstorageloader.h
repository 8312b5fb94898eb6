// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// TorchStorageLoader: where a torch.save pickle's storages come from. The zip format keeps each
// in its own archive entry (ZipTorchFile); the legacy format appends them after the pickles
// (LegacyTorchFile). TorchObjectFactory asks once per storage key.

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace icmil::engine {

class TorchStorageLoader {
public:
    virtual ~TorchStorageLoader() = default;

    // The storage saved under `key`: a contiguous 1-D CPU tensor of `numel` elements of `dtype`
    // (its bytes may be filled in later, before the file's reader returns). `location` is the
    // device tag the file recorded ("cpu", "cuda:0"); every storage is loaded to the CPU.
    // Throws EngineError when the file does not hold such a storage.
    virtual torch::Tensor loadStorage(const std::string &key, c10::ScalarType dtype, std::int64_t numel, const std::string &location) = 0;
};

} // namespace icmil::engine
