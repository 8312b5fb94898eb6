// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzz target: the engine's own strict JSON reader (jsonvalue.h) through the TorchScript
// embedder's sidecar (TorchScriptSidecar::parse), and the JSON reader alone on the same text.
// EngineError is the documented outcome; a sidecar that parses must also parse once written.

#include "engine/embedders/jsonvalue.h"
#include "engine/embedders/torchscriptsidecar.h"
#include "engine/engineerror.h"

#include <optional>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    const std::string_view text(reinterpret_cast<const char *>(data), size);
    try {
        (void)icmil::engine::JsonValue::parse(text, "fuzz input");
    } catch (const icmil::engine::EngineError &) { }
    std::optional<icmil::engine::TorchScriptSidecar> sidecar;
    try {
        sidecar = icmil::engine::TorchScriptSidecar::parse(text, "fuzz.json");
    } catch (const icmil::engine::EngineError &) {
        return 0;
    }
    // What it accepted, it writes so that it reads it back: an EngineError here escapes (a finding).
    (void)icmil::engine::TorchScriptSidecar::parse(sidecar->toJson(), "round trip");
    return 0;
}
