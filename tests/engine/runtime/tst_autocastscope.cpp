// SPDX-License-Identifier: GPL-3.0-or-later
// Tests for engine/runtime/autocastscope.h. The state handling is checked everywhere (autocast flags are
// thread-local switches that need no GPU); the fp16/bf16 matmul checks run only with CUDA.

#include "enginecheck.h"

#include "engine/runtime/autocastscope.h"
#include "engine/engineerror.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>

using icmil::engine::AutocastScope;

namespace {

const c10::Device cpu(c10::DeviceType::CPU);
const c10::Device cuda0(c10::DeviceType::CUDA, 0);

struct AutocastState {
    bool enabled;
    c10::ScalarType dtype;
    bool operator==(const AutocastState &) const = default;
};

AutocastState autocastState()
{
    return {AutocastScope::cudaAutocastEnabled(), AutocastScope::cudaAutocastDtype()};
}

} // namespace

ENGINE_TEST(cpuScopeIsInactiveAndLeavesStateUnchanged)
{
    const AutocastState before = autocastState();
    {
        AutocastScope scope(cpu);
        CHECK(!scope.active());
        CHECK(autocastState() == before);
        const at::Tensor product = at::matmul(at::ones({4, 4}), at::ones({4, 4}));
        CHECK_EQ(product.scalar_type(), at::kFloat);
    }
    CHECK(autocastState() == before);
}

ENGINE_TEST(disabledScopeIsInactive)
{
    const AutocastState before = autocastState();
    {
        AutocastScope scope(cuda0, false);
        CHECK(!scope.active());
        CHECK(autocastState() == before);
    }
    CHECK(autocastState() == before);
}

ENGINE_TEST(rejectsDtypesOtherThanHalfAndBFloat16)
{
    CHECK_THROWS_MESSAGE(AutocastScope(cpu, true, c10::kFloat), "AutocastScope dtype must be Half or BFloat16, got Float");
    CHECK_THROWS_MESSAGE(AutocastScope(cuda0, true, c10::kDouble), "AutocastScope dtype must be Half or BFloat16, got Double");
    AutocastScope bf16(cpu, true, c10::kBFloat16);
    CHECK_EQ(bf16.dtype(), c10::kBFloat16);
    CHECK(!bf16.active());
}

// Switching CUDA autocast on needs no device: the flags live in the thread's dispatch state.
ENGINE_TEST(cudaScopeSetsAndRestoresStateWhenNested)
{
    const AutocastState before = autocastState();
    CHECK(!before.enabled);
    {
        AutocastScope outer(cuda0);
        CHECK(outer.active());
        CHECK(autocastState() == (AutocastState{true, c10::kHalf}));
        {
            AutocastScope inner(cuda0, true, c10::kBFloat16);
            CHECK(inner.active());
            CHECK(autocastState() == (AutocastState{true, c10::kBFloat16}));
            {
                AutocastScope off(cuda0, false);
                CHECK(autocastState() == (AutocastState{true, c10::kBFloat16}));
            }
        }
        CHECK(autocastState() == (AutocastState{true, c10::kHalf}));
    }
    CHECK(autocastState() == before);
}

ENGINE_TEST(cudaMatmulRunsInHalfInsideScope)
{
    if (!torch::cuda::is_available())
        SKIP("no CUDA device");
    const AutocastState before = autocastState();
    const at::Tensor a = at::randn({64, 64}, at::TensorOptions().device(cuda0));
    {
        AutocastScope scope(cuda0);
        CHECK(scope.active());
        const at::Tensor product = at::matmul(a, a);
        CHECK_EQ(product.scalar_type(), at::kHalf);
        CHECK_EQ((a + a).scalar_type(), at::kFloat);
    }
    CHECK(autocastState() == before);
    CHECK_EQ(at::matmul(a, a).scalar_type(), at::kFloat);
}

ENGINE_TEST(cudaMatmulRunsInBFloat16InsideScope)
{
    if (!torch::cuda::is_available())
        SKIP("no CUDA device");
    const at::Tensor a = at::randn({64, 64}, at::TensorOptions().device(cuda0));
    {
        AutocastScope scope(cuda0, true, c10::kBFloat16);
        CHECK_EQ(at::matmul(a, a).scalar_type(), at::kBFloat16);
    }
    CHECK_EQ(at::matmul(a, a).scalar_type(), at::kFloat);
}
