// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/dataset/labelstable.h"
#include "common/asciicase.h"

#include "project/atomicfile.h"
#include "project/projecterror.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace icmil::project {

namespace fs = std::filesystem;

namespace {

std::string trimmed(const std::string &s)
{
    const auto first = s.find_first_not_of(" \t\r\n");
    if (first == std::string::npos)
        return {};
    const auto last = s.find_last_not_of(" \t\r\n");
    return s.substr(first, last - first + 1);
}

// Splits one CSV line (RFC 4180 quoting within the line). Returns false on an unclosed quote.
bool splitCsvLine(const std::string &line, std::vector<std::string> &fields)
{
    fields.clear();
    std::string field;
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
            if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            fields.push_back(trimmed(field));
            field.clear();
        } else {
            field += c;
        }
    }
    fields.push_back(trimmed(field));
    return !quoted;
}

std::string csvField(const std::string &value)
{
    if (value.find_first_of(",\"\n\r") == std::string::npos)
        return value;
    std::string out = "\"";
    for (char c : value)
        out += (c == '"') ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

} // namespace

LabelsTable LabelsTable::read(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw ProjectError("Cannot read labels file '" + path.string() + "': file does not exist or is unreadable");
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path.string());
}

LabelsTable LabelsTable::parse(const std::string &text, const std::string &sourceName)
{
    LabelsTable table;
    std::istringstream in(text);
    std::string line;
    int lineNumber = 0;
    std::vector<std::string> fields;

    // Header: the first non-empty line. A UTF-8 byte-order mark (spreadsheet exports) is skipped.
    std::map<std::string, std::size_t> column;
    while (std::getline(in, line)) {
        ++lineNumber;
        if (lineNumber == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0)
            line.erase(0, 3);
        if (trimmed(line).empty())
            continue;
        splitCsvLine(line, fields);
        for (std::size_t i = 0; i < fields.size(); ++i)
            column.emplace(asciiLower(fields[i]), i);
        break;
    }
    if (column.empty())
        throw ProjectError("Labels file '" + sourceName + "' is empty: expected a header case_id,slide_id,label[,split]");
    for (const char *required : {"case_id", "slide_id", "label"}) {
        if (!column.count(required)) {
            throw ProjectError("Labels file '" + sourceName + "' has no '" + required
                               + "' column: expected a header case_id,slide_id,label[,split]");
        }
    }
    const std::size_t headerFields = fields.size();
    table.m_hasSplitColumn = column.count("split") > 0;

    std::map<std::string, int> firstLineOfSlide;
    while (std::getline(in, line)) {
        ++lineNumber;
        if (trimmed(line).empty())
            continue;
        auto issue = [&](const std::string &message) { table.m_issues.push_back({lineNumber, message}); };
        if (!splitCsvLine(line, fields)) {
            issue("unclosed quote");
            continue;
        }
        if (fields.size() != headerFields) {
            issue("expected " + std::to_string(headerFields) + " fields, found " + std::to_string(fields.size()));
            continue;
        }
        LabelledSlide row;
        row.line = lineNumber;
        row.caseId = fields[column["case_id"]];
        row.slideId = fields[column["slide_id"]];
        row.label = fields[column["label"]];
        if (table.m_hasSplitColumn)
            row.split = asciiLower(fields[column["split"]]);

        if (row.slideId.empty()) {
            issue("empty slide_id");
            continue;
        }
        if (row.label.empty()) {
            issue("slide '" + row.slideId + "' has an empty label");
            continue;
        }
        if (row.caseId.empty()) {
            row.caseId = row.slideId; // CLAM treats a missing case as one case per slide
            table.m_noCaseRows.push_back({lineNumber,
                                          "slide '" + row.slideId
                                              + "' has an empty case_id: it is taken as a case of its own "
                                                "(a patient's other slides may land in another split)",
                                          false, true});
        }
        if (!row.split.empty() && row.split != "train" && row.split != "val" && row.split != "test") {
            issue("slide '" + row.slideId + "' has unknown split '" + row.split + "' (expected train, val or test)");
            continue;
        }
        const auto [it, inserted] = firstLineOfSlide.emplace(row.slideId, lineNumber);
        if (!inserted) {
            issue("duplicate slide_id '" + row.slideId + "' (first on line " + std::to_string(it->second) + ")");
            continue;
        }
        table.m_rows.push_back(std::move(row));
    }
    return table;
}

void LabelsTable::write(const fs::path &path) const
{
    const bool withSplit = std::any_of(m_rows.begin(), m_rows.end(), [](const auto &r) { return !r.split.empty(); });
    std::string out = withSplit ? "case_id,slide_id,label,split\n" : "case_id,slide_id,label\n";
    for (const LabelledSlide &row : m_rows) {
        out += csvField(row.caseId) + ',' + csvField(row.slideId) + ',' + csvField(row.label);
        if (withSplit)
            out += ',' + csvField(row.split);
        out += '\n';
    }
    writeFileAtomically(path, out);
}

namespace {

// Whether two labels differ only by letter case or by one inserted, deleted or changed letter.
bool closeLabels(const std::string &a, const std::string &b)
{
    const std::string x = asciiLower(a), y = asciiLower(b);
    if (x == y)
        return true;
    const std::string &shorter = x.size() <= y.size() ? x : y;
    const std::string &longer = x.size() <= y.size() ? y : x;
    if (longer.size() - shorter.size() > 1 || shorter.size() < 3)
        return false;
    std::size_t i = 0;
    while (i < shorter.size() && shorter[i] == longer[i])
        ++i;
    const std::size_t skip = longer.size() > shorter.size() ? 0 : 1; // a change skips one letter of both
    return shorter.compare(i + skip, std::string::npos, longer, i + 1, std::string::npos) == 0;
}

} // namespace

std::vector<LabelsIssue> LabelsTable::warnings(bool classesGiven) const
{
    std::vector<LabelsIssue> warnings = m_noCaseRows;
    if (classesGiven)
        return warnings;
    std::map<std::string, std::pair<int, int>> classes; // label -> slides, first line
    for (const LabelledSlide &row : m_rows) {
        auto [it, inserted] = classes.emplace(row.label, std::pair{0, row.line});
        ++it->second.first;
    }
    // A class of 1 or 2 slides beside one of 5 or more looks like a typo; in a small dataset
    // where every class is that small it does not.
    constexpr int kCommonClass = 5;
    int largest = 0;
    for (const auto &[label, seen] : classes)
        largest = std::max(largest, seen.first);
    std::set<std::string> named;
    for (const auto &[label, seen] : classes) {
        for (const auto &[other, otherSeen] : classes) {
            const bool rarer = seen.first < otherSeen.first || (seen.first == otherSeen.first && label > other);
            if (other == label || !rarer || !closeLabels(label, other))
                continue;
            warnings.push_back({seen.second,
                                "label '" + label + "' (" + std::to_string(seen.first) + " slide(s)) is close to '" + other + "' ("
                                    + std::to_string(otherSeen.first) + "): if it is a typo, it makes a class of its own",
                                false, true});
            named.insert(label);
            break;
        }
        if (seen.first <= 2 && !named.contains(label) && largest >= kCommonClass)
            warnings.push_back({seen.second,
                                "class '" + label + "' has only " + std::to_string(seen.first)
                                    + " slide(s): too few to learn or to evaluate it (is the label a typo?)",
                                false, true});
    }
    std::stable_sort(warnings.begin(), warnings.end(), [](const LabelsIssue &a, const LabelsIssue &b) { return a.line < b.line; });
    return warnings;
}

std::vector<std::string> LabelsTable::classNames() const
{
    std::set<std::string> names;
    for (const LabelledSlide &row : m_rows)
        names.insert(row.label);
    return {names.begin(), names.end()};
}

std::optional<LabelledSlide> LabelsTable::find(const std::string &slideId) const
{
    for (const LabelledSlide &row : m_rows) {
        if (row.slideId == slideId)
            return row;
    }
    return std::nullopt;
}

} // namespace icmil::project
