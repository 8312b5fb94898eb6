// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// Which part of a batch this process holds when several processes share it (data-parallel
// fine-tuning, engine/distributed): rows [offset, offset + rows) of a batch of `globalSize`.
// Operations that draw random numbers per row draw them for the whole batch, in its order, and
// use this part's rows, so every process's generator stays in step with one process that holds
// the whole batch, and a row gets the same draw however the batch is split.

#include <cstdint>

namespace icmil::engine {

struct BatchShard {
    std::int64_t globalSize = -1; // -1: the batch is whole (globalSize = its rows, offset 0)
    std::int64_t offset = 0;

    bool whole() const { return globalSize < 0; }
    // The global size for a part of `rows` rows.
    std::int64_t total(std::int64_t rows) const { return whole() ? rows : globalSize; }
};

} // namespace icmil::engine
