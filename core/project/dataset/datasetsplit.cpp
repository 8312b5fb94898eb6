// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/dataset/datasetsplit.h"

#include "project/projecterror.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <sstream>

namespace icmil::project {

namespace {

constexpr int kSplitCount = 3;

// One patient: the table rows of its slides and the class it is stratified by.
struct Case {
    std::string id;
    int classIndex = 0;            // the highest class index among its slides
    std::vector<std::size_t> rows; // indices into the table's rows
};

std::string number(double value)
{
    std::ostringstream out;
    out << value;
    return out.str();
}

std::string plural(int n, const std::string &word)
{
    return std::to_string(n) + ' ' + word + (n == 1 ? "" : "s");
}

// Uniform integer in [0, bound) from the raw 64-bit engine output, by rejection, so the result is
// the same with every standard library (std::uniform_int_distribution is implementation-defined).
std::uint64_t uniformBelow(std::mt19937_64 &rng, std::uint64_t bound)
{
    const std::uint64_t threshold = (0 - bound) % bound; // 2^64 mod bound
    std::uint64_t r = rng();
    while (r < threshold)
        r = rng();
    return r % bound;
}

// Fisher–Yates, written out for the same reason as uniformBelow.
void shuffle(std::vector<std::size_t> &items, std::mt19937_64 &rng)
{
    for (std::size_t i = items.size(); i > 1; --i) {
        const std::size_t j = static_cast<std::size_t>(uniformBelow(rng, i));
        std::swap(items[i - 1], items[j]);
    }
}

int roundedShare(int n, double fraction)
{
    int k = static_cast<int>(std::lround(n * fraction));
    if (n >= 3 && fraction > 0)
        k = std::max(k, 1);
    return k;
}

struct Sizes {
    int val = 0;
    int test = 0;
};

// CLAM-like rounding with the small-class rules: at least one val and one test case when the class
// has three or more and the fraction is non-zero, and always at least one train case.
Sizes splitSizes(int n, double valFraction, double testFraction)
{
    Sizes s{roundedShare(n, valFraction), roundedShare(n, testFraction)};
    const int maxHeldOut = std::max(n - 1, 0);
    while (s.val + s.test > maxHeldOut) {
        if (s.val >= s.test)
            --s.val;
        else
            --s.test;
    }
    return s;
}

int classIndexOf(const std::vector<std::string> &classNames, const std::string &label)
{
    const auto it = std::lower_bound(classNames.begin(), classNames.end(), label);
    return static_cast<int>(it - classNames.begin());
}

// The cases of the rows that pass keep(), in order of first appearance.
template <typename Keep> std::vector<Case> collectCases(const std::vector<LabelledSlide> &rows, const std::vector<int> &rowClass, Keep keep)
{
    std::vector<Case> cases;
    std::map<std::string, std::size_t> indexOfCase;
    for (std::size_t r = 0; r < rows.size(); ++r) {
        if (!keep(rows[r]))
            continue;
        const auto [it, inserted] = indexOfCase.emplace(rows[r].caseId, cases.size());
        if (inserted)
            cases.push_back({rows[r].caseId, rowClass[r], {}});
        Case &c = cases[it->second];
        c.classIndex = std::max(c.classIndex, rowClass[r]);
        c.rows.push_back(r);
    }
    return cases;
}

// Case indices grouped by class (class-index order), each group in first-appearance order.
std::vector<std::vector<std::size_t>> casesByClass(const std::vector<Case> &cases, std::size_t classCount)
{
    std::vector<std::vector<std::size_t>> groups(classCount);
    for (std::size_t i = 0; i < cases.size(); ++i)
        groups[static_cast<std::size_t>(cases[i].classIndex)].push_back(i);
    return groups;
}

void checkFoldsFitClasses(const std::vector<std::vector<std::size_t>> &groups, const std::vector<std::string> &classNames, int folds,
                          const std::string &where)
{
    for (std::size_t k = 0; k < groups.size(); ++k) {
        const int n = static_cast<int>(groups[k].size());
        if (n < folds) {
            throw ProjectError("Cannot make " + std::to_string(folds) + " folds: class '" + classNames[k] + "' has only "
                               + plural(n, "case") + where);
        }
    }
}

// Deals each class's shuffled cases round-robin into `folds` parts and returns part `fold` of every
// class in `held` and the rest in `kept`, both still grouped by class.
void dealFolds(const std::vector<std::vector<std::size_t>> &shuffled, int folds, int fold, std::vector<std::vector<std::size_t>> &held,
               std::vector<std::vector<std::size_t>> &kept)
{
    held.assign(shuffled.size(), {});
    kept.assign(shuffled.size(), {});
    for (std::size_t k = 0; k < shuffled.size(); ++k) {
        for (std::size_t i = 0; i < shuffled[k].size(); ++i) {
            const bool inFold = static_cast<int>(i % static_cast<std::size_t>(folds)) == fold;
            (inFold ? held : kept)[k].push_back(shuffled[k][i]);
        }
    }
}

void shuffleEachClass(std::vector<std::vector<std::size_t>> &groups, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    for (auto &group : groups)
        shuffle(group, rng);
}

void assignCase(DatasetSplit &result, const Case &c, Split split)
{
    for (std::size_t r : c.rows)
        result.slides[r].split = split;
}

void validateConfig(const SplitConfig &config)
{
    const double v = config.valFraction;
    const double t = config.testFraction;
    if (!(v >= 0) || !(t >= 0) || !(v + t < 1)) {
        throw ProjectError("Split fractions val " + number(v) + " and test " + number(t)
                           + " are out of range: each must be at least 0 and together less than 1");
    }
    if (config.folds < 1)
        throw ProjectError("Cannot make " + std::to_string(config.folds) + " folds: the number of folds must be at least 1");
    if (config.fold < 0 || config.fold >= config.folds) {
        const std::string range = config.folds == 1 ? "it must be 0" : "it must be from 0 to " + std::to_string(config.folds - 1);
        throw ProjectError("Fold " + std::to_string(config.fold) + " is out of range: with " + plural(config.folds, "fold") + ' ' + range);
    }
}

void splitFromCsv(const LabelsTable &table, const SplitConfig &config, const std::vector<int> &rowClass, DatasetSplit &result)
{
    const auto &rows = table.rows();
    for (std::size_t r = 0; r < rows.size(); ++r) {
        if (rows[r].split.empty())
            throw ProjectError("labels.csv gives no split for slide '" + rows[r].slideId + "' while other rows do");
        result.slides[r].split = rows[r].split == "test" ? Split::Test : rows[r].split == "val" ? Split::Val : Split::Train;
    }
    result.fromCsv = true;
    if (config.folds < 2)
        return;

    // k-fold over the CSV's train and val rows; its test rows stay test.
    const std::vector<Case> cases = collectCases(rows, rowClass, [](const LabelledSlide &s) { return s.split != "test"; });
    auto groups = casesByClass(cases, result.classNames.size());
    checkFoldsFitClasses(groups, result.classNames, config.folds, " outside the test split of labels.csv");
    shuffleEachClass(groups, config.seed);
    std::vector<std::vector<std::size_t>> held, kept;
    dealFolds(groups, config.folds, config.fold, held, kept);
    for (std::size_t k = 0; k < groups.size(); ++k) {
        for (std::size_t i : held[k])
            assignCase(result, cases[i], Split::Val);
        for (std::size_t i : kept[k])
            assignCase(result, cases[i], Split::Train);
    }
}

void splitStratified(const LabelsTable &table, const SplitConfig &config, const std::vector<int> &rowClass, DatasetSplit &result)
{
    const std::vector<Case> cases = collectCases(table.rows(), rowClass, [](const LabelledSlide &) { return true; });
    auto groups = casesByClass(cases, result.classNames.size());
    if (config.folds >= 2)
        checkFoldsFitClasses(groups, result.classNames, config.folds, "");
    shuffleEachClass(groups, config.seed);

    if (config.folds < 2) {
        for (const auto &group : groups) {
            const Sizes s = splitSizes(static_cast<int>(group.size()), config.valFraction, config.testFraction);
            for (std::size_t i = 0; i < group.size(); ++i) {
                const int pos = static_cast<int>(i);
                assignCase(result, cases[group[i]], pos < s.test ? Split::Test : pos < s.test + s.val ? Split::Val : Split::Train);
            }
        }
        return;
    }

    std::vector<std::vector<std::size_t>> held, kept;
    dealFolds(groups, config.folds, config.fold, held, kept);
    shuffleEachClass(kept, config.seed + static_cast<std::uint64_t>(config.fold));
    for (std::size_t k = 0; k < groups.size(); ++k) {
        for (std::size_t i : held[k])
            assignCase(result, cases[i], Split::Test);
        const int nVal = splitSizes(static_cast<int>(kept[k].size()), config.valFraction, 0.0).val;
        for (std::size_t i = 0; i < kept[k].size(); ++i)
            assignCase(result, cases[kept[k][i]], static_cast<int>(i) < nVal ? Split::Val : Split::Train);
    }
}

} // namespace

std::string splitName(Split split)
{
    switch (split) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Test: return "test";
    }
    return "train";
}

std::vector<std::vector<int>> DatasetSplit::counts() const
{
    std::vector<std::vector<int>> out(kSplitCount, std::vector<int>(classNames.size(), 0));
    for (const SlideSplit &s : slides)
        ++out[static_cast<std::size_t>(s.split)][static_cast<std::size_t>(s.classIndex)];
    return out;
}

int DatasetSplit::count(Split split, int classIndex) const
{
    return static_cast<int>(
        std::count_if(slides.begin(), slides.end(), [&](const SlideSplit &s) { return s.split == split && s.classIndex == classIndex; }));
}

int DatasetSplit::count(Split split) const
{
    return static_cast<int>(std::count_if(slides.begin(), slides.end(), [&](const SlideSplit &s) { return s.split == split; }));
}

std::vector<const SlideSplit *> DatasetSplit::of(Split split) const
{
    std::vector<const SlideSplit *> out;
    for (const SlideSplit &s : slides) {
        if (s.split == split)
            out.push_back(&s);
    }
    return out;
}

DatasetSplit assignSplits(const LabelsTable &table, const SplitConfig &config)
{
    DatasetSplit result;
    result.classNames = table.classNames();
    if (result.classNames.empty())
        throw ProjectError("labels.csv has no labelled slides; training needs at least two classes");
    if (result.classNames.size() == 1) {
        throw ProjectError("labels.csv has only one class ('" + result.classNames.front() + "'); training needs at least two");
    }
    validateConfig(config);

    const auto &rows = table.rows();
    std::vector<int> rowClass(rows.size());
    result.slides.reserve(rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) {
        rowClass[r] = classIndexOf(result.classNames, rows[r].label);
        result.slides.push_back({rows[r].slideId, rows[r].caseId, rows[r].label, rowClass[r], Split::Train});
    }

    const bool csvHasSplits
        = table.hasSplitColumn() && std::any_of(rows.begin(), rows.end(), [](const LabelledSlide &s) { return !s.split.empty(); });
    if (csvHasSplits && config.useCsvSplit)
        splitFromCsv(table, config, rowClass, result);
    else
        splitStratified(table, config, rowClass, result);
    return result;
}

std::string describeSplit(const DatasetSplit &split)
{
    const auto counts = split.counts();
    std::string out;
    for (int k = 0; k < kSplitCount; ++k) {
        const auto &perClass = counts[static_cast<std::size_t>(k)];
        int total = 0;
        std::string classes;
        for (std::size_t c = 0; c < perClass.size(); ++c) {
            total += perClass[c];
            classes += (c ? ", " : "") + split.classNames[c] + ' ' + std::to_string(perClass[c]);
        }
        if (k)
            out += " \xC2\xB7 "; // middle dot
        out += splitName(static_cast<Split>(k)) + ' ' + std::to_string(total) + " (" + classes + ')';
    }
    if (split.fromCsv)
        out += " \xC2\xB7 as given in labels.csv";
    return out;
}

} // namespace icmil::project
