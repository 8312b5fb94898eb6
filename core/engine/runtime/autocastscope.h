// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

namespace icmil::engine {

// RAII mixed precision for CUDA, the C++ form of Python's `with torch.autocast("cuda", dtype)`:
// eligible ops (matmul, conv, linear, ...) inside the scope run in `dtype`, others stay float32.
//
// Active only when `enabled` and `device` is CUDA; on the CPU it is a documented no-op
// (active() is false, autocast state untouched) so callers need not branch on the device.
// On destruction it restores the previous enabled flag and dtype; the outermost scope also clears
// the autocast cast cache. Autocast state is per thread: create and destroy a scope on one thread,
// and nest scopes strictly (inner ones end first).
class AutocastScope {
public:
    // dtype: c10::kHalf (default) or c10::kBFloat16; anything else throws EngineError.
    explicit AutocastScope(c10::Device device, bool enabled = true, c10::ScalarType dtype = c10::kHalf);
    ~AutocastScope();

    AutocastScope(const AutocastScope &) = delete;
    AutocastScope &operator=(const AutocastScope &) = delete;
    AutocastScope(AutocastScope &&) = delete;
    AutocastScope &operator=(AutocastScope &&) = delete;

    bool active() const { return m_active; }
    c10::ScalarType dtype() const { return m_dtype; }

    // The current thread's CUDA autocast state, whoever set it (for tests and diagnostics).
    static bool cudaAutocastEnabled();
    static c10::ScalarType cudaAutocastDtype();

private:
    bool m_active = false;
    c10::ScalarType m_dtype = c10::kHalf;
    bool m_previousEnabled = false;
    c10::ScalarType m_previousDtype = c10::kHalf;
};

} // namespace icmil::engine
