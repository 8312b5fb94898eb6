// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/runtime/autocastscope.h"

#include "engine/engineerror.h"
#include "engine/runtime/torchversion.h"

#include <ATen/autocast_mode.h>

#include <string>

namespace icmil::engine {

namespace {

// LibTorch 2.4 replaced the CUDA-only autocast calls (is_enabled, get_autocast_gpu_dtype, ...,
// deprecated since) with ones taking a device type. The version split lives here and only here.
#if ICMIL_TORCH_AT_LEAST(2, 4)
bool cudaAutocastFlag()
{
    return at::autocast::is_autocast_enabled(c10::DeviceType::CUDA);
}
void setCudaAutocastFlag(bool enabled)
{
    at::autocast::set_autocast_enabled(c10::DeviceType::CUDA, enabled);
}
c10::ScalarType cudaAutocastType()
{
    return at::autocast::get_autocast_dtype(c10::DeviceType::CUDA);
}
void setCudaAutocastType(c10::ScalarType dtype)
{
    at::autocast::set_autocast_dtype(c10::DeviceType::CUDA, dtype);
}
#else
bool cudaAutocastFlag()
{
    return at::autocast::is_enabled();
}
void setCudaAutocastFlag(bool enabled)
{
    at::autocast::set_enabled(enabled);
}
c10::ScalarType cudaAutocastType()
{
    return at::autocast::get_autocast_gpu_dtype();
}
void setCudaAutocastType(c10::ScalarType dtype)
{
    at::autocast::set_autocast_gpu_dtype(dtype);
}
#endif

} // namespace

AutocastScope::AutocastScope(c10::Device device, bool enabled, c10::ScalarType dtype) : m_dtype(dtype)
{
    if (dtype != c10::kHalf && dtype != c10::kBFloat16)
        throw EngineError(std::string("AutocastScope dtype must be Half or BFloat16, got ") + c10::toString(dtype));
    if (!enabled || !device.is_cuda())
        return;
    m_previousEnabled = cudaAutocastFlag();
    m_previousDtype = cudaAutocastType();
    setCudaAutocastFlag(true);
    setCudaAutocastType(dtype);
    at::autocast::increment_nesting();
    m_active = true;
}

AutocastScope::~AutocastScope()
{
    if (!m_active)
        return;
    // Casts are cached (weights cast once per scope); only the outermost scope may drop them.
    if (at::autocast::decrement_nesting() == 0)
        at::autocast::clear_cache();
    setCudaAutocastFlag(m_previousEnabled);
    setCudaAutocastType(m_previousDtype);
}

bool AutocastScope::cudaAutocastEnabled()
{
    return cudaAutocastFlag();
}

c10::ScalarType AutocastScope::cudaAutocastDtype()
{
    return cudaAutocastType();
}

} // namespace icmil::engine
