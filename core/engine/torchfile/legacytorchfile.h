// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// LegacyTorchFile: torch.save's format before PyTorch 1.6 (still written with
// _use_new_zipfile_serialization=False). Five pickles in a row: a magic number, the format
// version (1001), sys_info, the object (storages as persistent ids ('storage', type, key,
// location, numel, view_metadata)), the list of storage keys; then for each key an 8-byte
// little-endian element count and the storage's raw bytes.

#include "engine/torchfile/picklevalue.h"
#include "engine/torchfile/randomaccessfile.h"
#include "engine/torchfile/torchstorageloader.h"

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace icmil::engine {

class LegacyTorchFile : public TorchStorageLoader {
public:
    explicit LegacyTorchFile(const RandomAccessFile &file);

    PickleValue read();

    torch::Tensor loadStorage(const std::string &key, c10::ScalarType dtype, std::int64_t numel, const std::string &location) override;

private:
    struct PendingStorage {
        torch::Tensor tensor;
        std::int64_t numel = 0;
        bool filled = false;
    };

    // Parses the pickles found in the file's first window.size() bytes. Throws
    // PickleUnpickler::Truncated when they run past the window.
    PickleValue readPickles(std::string_view window);
    void readStorageData(const std::vector<std::string> &keys, std::uint64_t offset);

    const RandomAccessFile &m_file;
    std::unordered_map<std::string, PendingStorage> m_storages;
    std::uint64_t m_storageBytes = 0;
};

} // namespace icmil::engine
