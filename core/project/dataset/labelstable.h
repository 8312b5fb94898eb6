// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace icmil::project {

// One row of a labels CSV in CLAM's layout: case_id,slide_id,label[,split].
struct LabelledSlide {
    std::string caseId;
    std::string slideId; // file name of the slide without its extension
    std::string label;   // class name, e.g. "normal" or "tumor"
    std::string split;   // "train", "val", "test", or empty when the CSV has no split column
    int line = 0;        // 1-based line in the file it was read from (0: not read from a file)
};

// A problem with one line of the CSV, so a dialog or the CLI can list them row by row.
struct LabelsIssue {
    int line = 0; // 1-based line number in the file
    std::string message;
    bool blocking = true; // false: the row is only left out (e.g. its slide file is missing)
    bool warning = false; // the row is used as it is; it only looks unintended (never blocking)
};

// The labels CSV of a dataset. Reading never throws for row problems: they are collected in
// issues() and the bad rows are left out; file-level problems (missing file, no header, missing
// required column) throw ProjectError.
class LabelsTable {
public:
    static LabelsTable read(const std::filesystem::path &path);
    static LabelsTable parse(const std::string &text, const std::string &sourceName);

    // Writes the table atomically, with a split column only when some row has a split.
    void write(const std::filesystem::path &path) const;

    void add(LabelledSlide row) { m_rows.push_back(std::move(row)); }
    const std::vector<LabelledSlide> &rows() const { return m_rows; }
    const std::vector<LabelsIssue> &issues() const { return m_issues; }
    // What is read but likely not meant (never blocking, in line order): a row without case_id
    // (taken as a case of its own), a label that differs from another only by case or one
    // letter, a class of at most 2 slides beside one of 5 or more (a typo becomes a class of its
    // own). `classesGiven`:
    // the labels are checked against given class names, so only the rows without case_id.
    std::vector<LabelsIssue> warnings(bool classesGiven = false) const;
    bool hasSplitColumn() const { return m_hasSplitColumn; }

    // Distinct labels in sorted order; a label's index here is its class index.
    std::vector<std::string> classNames() const;
    std::optional<LabelledSlide> find(const std::string &slideId) const;

private:
    std::vector<LabelledSlide> m_rows;
    std::vector<LabelsIssue> m_issues;
    std::vector<LabelsIssue> m_noCaseRows; // found while parsing: warnings()
    bool m_hasSplitColumn = false;
};

} // namespace icmil::project
