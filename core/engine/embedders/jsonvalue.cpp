// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/embedders/jsonvalue.h"

#include "engine/engineerror.h"

#include <charconv>
#include <cmath>

namespace icmil::engine {

namespace {

constexpr int kMaxDepth = 32;

class JsonReader {
public:
    JsonReader(std::string_view text, std::string errorPrefix) : m_text(text), m_errorPrefix(std::move(errorPrefix)) { }

    JsonValue document()
    {
        JsonValue value = parseValue(0);
        skipSpace();
        if (m_pos != m_text.size())
            fail("unexpected text after the JSON value");
        return value;
    }

private:
    [[noreturn]] void fail(const std::string &what) const
    {
        int line = 1;
        int column = 1;
        for (std::size_t i = 0; i < m_pos && i < m_text.size(); ++i) {
            if (m_text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        throw EngineError(m_errorPrefix + " is not valid JSON: " + what + " at line " + std::to_string(line) + ", column "
                          + std::to_string(column));
    }

    void skipSpace()
    {
        while (m_pos < m_text.size() && (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' || m_text[m_pos] == '\n' || m_text[m_pos] == '\r'))
            ++m_pos;
    }

    char peek() const { return m_pos < m_text.size() ? m_text[m_pos] : '\0'; }

    void expect(char c)
    {
        skipSpace();
        if (peek() != c)
            fail(std::string("expected '") + c + "'");
        ++m_pos;
    }

    JsonValue parseValue(int depth)
    {
        if (depth > kMaxDepth)
            fail("nesting deeper than " + std::to_string(kMaxDepth));
        skipSpace();
        const std::size_t start = m_pos;
        JsonValue value;
        const char c = peek();
        if (c == '{') {
            value = parseObject(depth);
        } else if (c == '[') {
            value = parseArray(depth);
        } else if (c == '"') {
            value.kind = JsonValue::Kind::String;
            value.text = parseString();
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            value.kind = JsonValue::Kind::Number;
            value.number = parseNumber();
        } else if (literal("true") || literal("false")) {
            value.kind = JsonValue::Kind::Bool;
            value.boolean = m_text[start] == 't';
        } else if (literal("null")) {
            value.kind = JsonValue::Kind::Null;
        } else {
            fail(m_pos >= m_text.size() ? "unexpected end of file" : "expected a value");
        }
        value.source = m_text.substr(start, m_pos - start);
        return value;
    }

    bool literal(std::string_view word)
    {
        if (m_text.substr(m_pos, word.size()) != word)
            return false;
        m_pos += word.size();
        return true;
    }

    JsonValue parseObject(int depth)
    {
        JsonValue value;
        value.kind = JsonValue::Kind::Object;
        ++m_pos; // '{'
        skipSpace();
        if (peek() == '}') {
            ++m_pos;
            return value;
        }
        while (true) {
            skipSpace();
            if (peek() != '"')
                fail("expected a field name in double quotes");
            const std::size_t keyStart = m_pos;
            std::string key = parseString();
            for (const auto &member : value.members) {
                if (member.first == key) {
                    m_pos = keyStart;
                    fail("field \"" + key + "\" appears twice");
                }
            }
            expect(':');
            value.members.emplace_back(std::move(key), parseValue(depth + 1));
            skipSpace();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() == '}') {
                ++m_pos;
                return value;
            }
            fail("expected ',' or '}'");
        }
    }

    JsonValue parseArray(int depth)
    {
        JsonValue value;
        value.kind = JsonValue::Kind::Array;
        ++m_pos; // '['
        skipSpace();
        if (peek() == ']') {
            ++m_pos;
            return value;
        }
        while (true) {
            value.items.push_back(parseValue(depth + 1));
            skipSpace();
            if (peek() == ',') {
                ++m_pos;
                continue;
            }
            if (peek() == ']') {
                ++m_pos;
                return value;
            }
            fail("expected ',' or ']'");
        }
    }

    std::string parseString()
    {
        ++m_pos; // opening quote
        std::string out;
        while (true) {
            if (m_pos >= m_text.size())
                fail("unterminated string");
            const char c = m_text[m_pos++];
            if (c == '"')
                return out;
            if (static_cast<unsigned char>(c) < 0x20)
                fail("control character in a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            const char escape = peek();
            ++m_pos;
            switch (escape) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': appendUtf8(out, parseCodePoint()); break;
            default: --m_pos; fail("invalid escape in a string");
            }
        }
    }

    unsigned parseHex4()
    {
        unsigned code = 0;
        const auto digits = m_text.substr(m_pos, 4);
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), code, 16);
        if (digits.size() != 4 || error != std::errc() || end != digits.data() + 4)
            fail("expected 4 hex digits after \\u");
        m_pos += 4;
        return code;
    }

    unsigned parseCodePoint()
    {
        const unsigned high = parseHex4();
        if (high < 0xD800 || high > 0xDFFF)
            return high;
        if (high > 0xDBFF || !literal("\\u"))
            fail("unpaired surrogate in \\u escape");
        const unsigned low = parseHex4();
        if (low < 0xDC00 || low > 0xDFFF)
            fail("unpaired surrogate in \\u escape");
        return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
    }

    static void appendUtf8(std::string &out, unsigned code)
    {
        const auto byte = [&](unsigned bits) { out += static_cast<char>(bits); };
        if (code < 0x80) {
            byte(code);
        } else if (code < 0x800) {
            byte(0xC0 | (code >> 6));
            byte(0x80 | (code & 0x3F));
        } else if (code < 0x10000) {
            byte(0xE0 | (code >> 12));
            byte(0x80 | ((code >> 6) & 0x3F));
            byte(0x80 | (code & 0x3F));
        } else {
            byte(0xF0 | (code >> 18));
            byte(0x80 | ((code >> 12) & 0x3F));
            byte(0x80 | ((code >> 6) & 0x3F));
            byte(0x80 | (code & 0x3F));
        }
    }

    double parseNumber()
    {
        // JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        const std::size_t start = m_pos;
        const auto digits = [&] {
            const std::size_t from = m_pos;
            while (peek() >= '0' && peek() <= '9')
                ++m_pos;
            return m_pos - from;
        };
        if (peek() == '-')
            ++m_pos;
        if (peek() == '0')
            ++m_pos;
        else if (digits() == 0)
            fail("invalid number");
        if (peek() == '.') {
            ++m_pos;
            if (digits() == 0)
                fail("invalid number");
        }
        if (peek() == 'e' || peek() == 'E') {
            ++m_pos;
            if (peek() == '+' || peek() == '-')
                ++m_pos;
            if (digits() == 0)
                fail("invalid number");
        }
        double number = 0.0;
        const auto [end, error] = std::from_chars(m_text.data() + start, m_text.data() + m_pos, number);
        if (error != std::errc() || end != m_text.data() + m_pos || !std::isfinite(number)) {
            m_pos = start;
            fail("number out of range");
        }
        return number;
    }

    std::string_view m_text;
    std::string m_errorPrefix;
    std::size_t m_pos = 0;
};

} // namespace

const JsonValue *JsonValue::member(std::string_view key) const
{
    for (const auto &[name, value] : members) {
        if (name == key)
            return &value;
    }
    return nullptr;
}

JsonValue JsonValue::parse(std::string_view text, const std::string &errorPrefix)
{
    return JsonReader(text, errorPrefix).document();
}

} // namespace icmil::engine
