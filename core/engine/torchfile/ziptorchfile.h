// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// ZipTorchFile: torch.save's zip format (PyTorch >= 1.6; also LibTorch's torch::pickle_save).
// `<archive>/data.pkl` holds the object; each storage is the raw entry `<archive>/data/<key>`;
// `<archive>/byteorder` (PyTorch >= 2.1) says "little" or "big".

#include "engine/torchfile/picklevalue.h"
#include "engine/torchfile/randomaccessfile.h"
#include "engine/torchfile/storedziparchive.h"
#include "engine/torchfile/torchstorageloader.h"

#include <string>

namespace icmil::engine {

class ZipTorchFile : public TorchStorageLoader {
public:
    static constexpr std::uint64_t kMaxPickleBytes = std::uint64_t{1} << 30;

    // Reads the archive's directory; throws EngineError when it is not a usable ZIP archive.
    explicit ZipTorchFile(const RandomAccessFile &file);

    // The object data.pkl holds, with every storage read.
    PickleValue read();

    torch::Tensor loadStorage(const std::string &key, c10::ScalarType dtype, std::int64_t numel, const std::string &location) override;

private:
    std::string findArchivePrefix() const;

    StoredZipArchive m_archive;
    std::string m_prefix; // "archive/" or whatever folder torch.save chose
    bool m_bigEndian = false;
};

} // namespace icmil::engine
