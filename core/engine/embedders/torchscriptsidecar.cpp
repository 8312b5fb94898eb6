// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/torchscriptsidecar.h"

#include "engine/engineerror.h"
#include "engine/embedders/jsonvalue.h"
#include "engine/torchfile/torchfilewriter.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <utility>

namespace icmil::engine {

namespace {

constexpr std::size_t kMaxFileBytes = 1 << 20;

std::string shown(std::string_view source)
{
    constexpr std::size_t kShown = 40;
    return source.size() <= kShown ? std::string(source) : std::string(source.substr(0, kShown)) + "...";
}

class SidecarFields {
public:
    SidecarFields(const JsonValue &object, std::string errorPrefix) : m_object(object), m_errorPrefix(std::move(errorPrefix)) { }

    const JsonValue &field(const std::string &name) const
    {
        if (const JsonValue *value = m_object.member(name))
            return *value;
        throw EngineError(m_errorPrefix + ": missing field \"" + name + "\"");
    }

    [[noreturn]] void wrong(const std::string &name, const std::string &expected) const
    {
        throw EngineError(m_errorPrefix + ": field \"" + name + "\" must be " + expected + ", got " + shown(field(name).source));
    }

    std::string nonEmptyString(const std::string &name) const
    {
        const JsonValue &value = field(name);
        if (value.kind != JsonValue::Kind::String || value.text.empty())
            wrong(name, "a non-empty string");
        return value.text;
    }

    int wholeNumber(const std::string &name, int largest) const
    {
        const JsonValue &value = field(name);
        if (value.kind != JsonValue::Kind::Number || value.number != std::floor(value.number) || value.number < 1 || value.number > largest)
            wrong(name, "a whole number from 1 to " + std::to_string(largest));
        return static_cast<int>(value.number);
    }

    std::array<float, 3> threeNumbers(const std::string &name, bool positive) const
    {
        const JsonValue &value = field(name);
        const std::string expected = positive ? "an array of 3 positive numbers" : "an array of 3 numbers";
        if (value.kind != JsonValue::Kind::Array || value.items.size() != 3)
            wrong(name, expected);
        std::array<float, 3> numbers{};
        for (std::size_t i = 0; i < 3; ++i) {
            const JsonValue &item = value.items[i];
            // As a float: 1e45 would become infinity, and a std of 1e-50 zero.
            const float number = static_cast<float>(item.number);
            if (item.kind != JsonValue::Kind::Number || !std::isfinite(number) || (positive && !(number > 0.0f)))
                wrong(name, expected);
            numbers[i] = number;
        }
        return numbers;
    }

private:
    const JsonValue &m_object;
    std::string m_errorPrefix;
};

std::string jsonString(const std::string &text)
{
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
            out += escaped;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string jsonNumbers(const std::array<float, 3> &values)
{
    std::string out = "[";
    for (std::size_t i = 0; i < values.size(); ++i) {
        char buffer[32];
        const auto result = std::to_chars(buffer, buffer + sizeof buffer, values[i]); // shortest round trip
        out += (i == 0 ? "" : ", ") + std::string(buffer, result.ptr);
    }
    return out + "]";
}

} // namespace

std::filesystem::path TorchScriptSidecar::pathFor(const std::filesystem::path &modulePath)
{
    return std::filesystem::path(modulePath).replace_extension(".json");
}

TorchScriptSidecar TorchScriptSidecar::read(const std::filesystem::path &jsonPath)
{
    const std::string source = "TorchScript JSON '" + jsonPath.string() + "'";
    std::ifstream file(jsonPath, std::ios::binary);
    if (!file)
        throw EngineError("Cannot read " + source);
    std::string text;
    text.resize(kMaxFileBytes + 1);
    file.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (file.bad())
        throw EngineError("Cannot read " + source);
    text.resize(static_cast<std::size_t>(file.gcount()));
    if (text.size() > kMaxFileBytes)
        throw EngineError(source + " is larger than 1 MiB");
    return parse(text, source);
}

TorchScriptSidecar TorchScriptSidecar::parse(std::string_view text, const std::string &source)
{
    const JsonValue document = JsonValue::parse(text, source);
    if (document.kind != JsonValue::Kind::Object)
        throw EngineError(source + " must hold a JSON object {\"name\", \"input_size\", \"feature_dim\", \"mean\", \"std\"}");
    const SidecarFields fields(document, source);
    TorchScriptSidecar sidecar;
    sidecar.name = fields.nonEmptyString("name");
    sidecar.inputSize = fields.wholeNumber("input_size", 65536);
    sidecar.featureDim = fields.wholeNumber("feature_dim", 1 << 24);
    sidecar.normalisation.mean = fields.threeNumbers("mean", false);
    sidecar.normalisation.std = fields.threeNumbers("std", true);
    return sidecar;
}

std::string TorchScriptSidecar::toJson() const
{
    return "{\n  \"name\": " + jsonString(name) + ",\n  \"input_size\": " + std::to_string(inputSize)
        + ",\n  \"feature_dim\": " + std::to_string(featureDim) + ",\n  \"mean\": " + jsonNumbers(normalisation.mean)
        + ",\n  \"std\": " + jsonNumbers(normalisation.std) + "\n}\n";
}

void TorchScriptSidecar::write(const std::filesystem::path &jsonPath) const
{
    writeFileAtomically(jsonPath, toJson());
}

} // namespace icmil::engine
