// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/dataset/datasetsplit.h"
#include "project/dataset/labelstable.h"
#include "project/projecterror.h"

#include <QtTest>

#include <map>
#include <string>

using namespace icmil::project;

namespace {

// perClass[k] cases of class k, each with slidesPerCase slides: case "<label>-c<i>", slide "<label>-c<i>-s<j>".
LabelsTable makeTable(const std::vector<std::pair<std::string, int>> &perClass, int slidesPerCase = 1)
{
    LabelsTable t;
    for (const auto &[label, n] : perClass) {
        for (int i = 0; i < n; ++i) {
            const std::string caseId = label + "-c" + std::to_string(i);
            for (int j = 0; j < slidesPerCase; ++j)
                t.add({caseId, caseId + "-s" + std::to_string(j), label, {}});
        }
    }
    return t;
}

std::vector<Split> splitsOf(const DatasetSplit &d)
{
    std::vector<Split> out;
    for (const SlideSplit &s : d.slides)
        out.push_back(s.split);
    return out;
}

// case id -> its split; *straddles is set when a case has slides in two splits.
std::map<std::string, Split> caseSplits(const DatasetSplit &d, bool *straddles)
{
    std::map<std::string, Split> out;
    *straddles = false;
    for (const SlideSplit &s : d.slides) {
        const auto [it, inserted] = out.emplace(s.caseId, s.split);
        if (!inserted && it->second != s.split)
            *straddles = true;
    }
    return out;
}

template <typename F> QString errorOf(F &&f)
{
    try {
        f();
    } catch (const ProjectError &e) {
        return QString::fromStdString(e.what());
    }
    return QStringLiteral("<no error>");
}

} // namespace

class TstDatasetSplit : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void splitNames()
    {
        QCOMPARE(QString::fromStdString(splitName(Split::Train)), QStringLiteral("train"));
        QCOMPARE(QString::fromStdString(splitName(Split::Val)), QStringLiteral("val"));
        QCOMPARE(QString::fromStdString(splitName(Split::Test)), QStringLiteral("test"));
    }

    void stratifiedBalanced()
    {
        const LabelsTable t = makeTable({{"tumor", 50}, {"normal", 50}});
        const DatasetSplit d = assignSplits(t, SplitConfig{});
        QVERIFY(!d.fromCsv);
        QCOMPARE(d.classNames, (std::vector<std::string>{"normal", "tumor"}));
        QCOMPARE(d.counts(), (std::vector<std::vector<int>>{{40, 40}, {5, 5}, {5, 5}}));
        QCOMPARE(d.count(Split::Val, 1), 5);
        QCOMPARE(d.count(Split::Train), 80);
        QCOMPARE(d.of(Split::Test).size(), std::size_t{10});
        QCOMPARE(QString::fromStdString(describeSplit(d)),
                 QStringLiteral("train 80 (normal 40, tumor 40) \u00B7 val 10 (normal 5, tumor 5) \u00B7 test 10 (normal 5, tumor 5)"));
        // Row order and fields are the table's.
        QCOMPARE(d.slides.size(), t.rows().size());
        for (std::size_t i = 0; i < d.slides.size(); ++i) {
            QCOMPARE(d.slides[i].slideId, t.rows()[i].slideId);
            QCOMPARE(d.slides[i].caseId, t.rows()[i].caseId);
            QCOMPARE(d.slides[i].label, t.rows()[i].label);
            QCOMPARE(d.slides[i].classIndex, t.rows()[i].label == "tumor" ? 1 : 0);
        }
    }

    void stratifiedImbalanced()
    {
        const DatasetSplit d = assignSplits(makeTable({{"normal", 70}, {"tumor", 30}}), SplitConfig{});
        QCOMPARE(d.counts(), (std::vector<std::vector<int>>{{56, 24}, {7, 3}, {7, 3}}));
        SplitConfig c;
        c.valFraction = 0.2;
        c.testFraction = 0.3;
        const DatasetSplit e = assignSplits(makeTable({{"normal", 70}, {"tumor", 30}}), c);
        QCOMPARE(e.counts(), (std::vector<std::vector<int>>{{35, 15}, {14, 6}, {21, 9}}));
    }

    void reproducibleWithSeed()
    {
        const LabelsTable t = makeTable({{"normal", 50}, {"tumor", 50}});
        SplitConfig c;
        c.seed = 7;
        const auto a = splitsOf(assignSplits(t, c));
        QVERIFY(a == splitsOf(assignSplits(t, c)));
        c.seed = 8;
        QVERIFY(a != splitsOf(assignSplits(t, c)));
    }

    void pinnedShuffle()
    {
        // Fisher-Yates over std::mt19937_64 is fully specified, so this holds on every platform.
        LabelsTable t;
        for (const char *label : {"normal", "tumor"}) {
            for (int i = 0; i < 10; ++i) {
                const std::string id = label + std::to_string(i);
                t.add({id, id, label, {}});
            }
        }
        SplitConfig c;
        c.valFraction = 0.2;
        c.testFraction = 0.2;
        const DatasetSplit d = assignSplits(t, c);
        auto ids = [&d](Split s) {
            std::vector<std::string> out;
            for (const SlideSplit *p : d.of(s))
                out.push_back(p->slideId);
            return out;
        };
        QCOMPARE(ids(Split::Val), (std::vector<std::string>{"normal3", "normal9", "tumor1", "tumor7"}));
        QCOMPARE(ids(Split::Test), (std::vector<std::string>{"normal1", "normal7", "tumor6", "tumor9"}));
    }

    void patientLevel()
    {
        const LabelsTable t = makeTable({{"normal", 40}, {"tumor", 20}}, 3);
        for (std::uint64_t seed = 1; seed <= 5; ++seed) {
            SplitConfig c;
            c.seed = seed;
            const DatasetSplit d = assignSplits(t, c);
            bool straddles = false;
            const auto cases = caseSplits(d, &straddles);
            QVERIFY(!straddles);
            QCOMPARE(cases.size(), std::size_t{60});
            // Stratified by case: 40 cases -> 4 test, 4 val; 20 cases -> 2 test, 2 val; 3 slides each.
            QCOMPARE(d.counts(), (std::vector<std::vector<int>>{{96, 48}, {12, 6}, {12, 6}}));
        }
    }

    void mixedCaseTakesHighestClass()
    {
        // normal: 3 pure cases; tumor: 2 pure cases and one case with a normal and a tumor slide.
        // As a tumor case each class has 3 cases (1 test, 1 val, 1 train); as a normal case normal
        // would have 4 (1, 1, 2) and tumor 2 (0, 0, 2).
        LabelsTable t = makeTable({{"normal", 3}, {"tumor", 2}});
        t.add({"mixed", "mixed-a", "normal", {}});
        t.add({"mixed", "mixed-b", "tumor", {}});
        for (std::uint64_t seed = 1; seed <= 20; ++seed) {
            SplitConfig c;
            c.seed = seed;
            const DatasetSplit d = assignSplits(t, c);
            bool straddles = false;
            const auto cases = caseSplits(d, &straddles);
            QVERIFY(!straddles);
            int test = 0, val = 0;
            for (const auto &[id, split] : cases) {
                test += split == Split::Test;
                val += split == Split::Val;
            }
            QCOMPARE(test, 2);
            QCOMPARE(val, 2);
        }
    }

    void smallClassRule()
    {
        // n = 4: round(0.4) = 0, but at least one val and one test, and two left to train.
        QCOMPARE(assignSplits(makeTable({{"normal", 4}, {"tumor", 4}}), SplitConfig{}).counts(),
                 (std::vector<std::vector<int>>{{2, 2}, {1, 1}, {1, 1}}));
        // n = 3: one each; n = 2 and n = 1: nothing held out.
        QCOMPARE(assignSplits(makeTable({{"normal", 3}, {"tumor", 2}}), SplitConfig{}).counts(),
                 (std::vector<std::vector<int>>{{1, 2}, {1, 0}, {1, 0}}));
        QCOMPARE(assignSplits(makeTable({{"normal", 1}, {"tumor", 5}}), SplitConfig{}).counts(),
                 (std::vector<std::vector<int>>{{1, 3}, {0, 1}, {0, 1}}));
        // A zero fraction stays zero; large fractions still leave one train case.
        SplitConfig c;
        c.testFraction = 0;
        QCOMPARE(assignSplits(makeTable({{"normal", 4}, {"tumor", 4}}), c).counts(),
                 (std::vector<std::vector<int>>{{3, 3}, {1, 1}, {0, 0}}));
        c.valFraction = 0.45;
        c.testFraction = 0.45;
        QCOMPARE(assignSplits(makeTable({{"normal", 4}, {"tumor", 4}}), c).counts(),
                 (std::vector<std::vector<int>>{{1, 1}, {1, 1}, {2, 2}}));
    }

    void kFold()
    {
        const LabelsTable t = makeTable({{"normal", 20}, {"tumor", 15}}, 2);
        SplitConfig c;
        c.folds = 5;
        c.seed = 3;
        std::map<std::string, int> testFolds;
        std::vector<std::vector<Split>> all;
        for (int f = 0; f < c.folds; ++f) {
            c.fold = f;
            const DatasetSplit d = assignSplits(t, c);
            all.push_back(splitsOf(d));
            bool straddles = false;
            const auto cases = caseSplits(d, &straddles);
            QVERIFY(!straddles);
            QCOMPARE(cases.size(), std::size_t{35}); // train, val and test cover every case
            for (const auto &[id, split] : cases)
                testFolds[id] += split == Split::Test;
            // test: 4 and 3 cases; val: round(16 * 0.1) = 2 and round(12 * 0.1) = 1 of the rest.
            QCOMPARE(d.counts(), (std::vector<std::vector<int>>{{28, 22}, {4, 2}, {8, 6}}));
        }
        QCOMPARE(testFolds.size(), std::size_t{35});
        for (const auto &[id, n] : testFolds)
            QVERIFY2(n == 1, id.c_str()); // each case is tested in exactly one fold
        for (int f = 1; f < c.folds; ++f)
            QVERIFY(all[static_cast<std::size_t>(f)] != all[0]);
        // Reproducible.
        c.fold = 2;
        QVERIFY(splitsOf(assignSplits(t, c)) == all[2]);
    }

    void csvSplitUsedAsGiven()
    {
        const std::string text = "case_id,slide_id,label,split\n"
                                 "c1,s1,normal,train\n"
                                 "c2,s2,tumor,val\n"
                                 "c3,s3,normal,test\n"
                                 "c4,s4,tumor,train\n"
                                 "c4,s5,tumor,test\n";
        const LabelsTable t = LabelsTable::parse(text, "labels.csv");
        const DatasetSplit d = assignSplits(t, SplitConfig{});
        QVERIFY(d.fromCsv);
        QVERIFY(splitsOf(d) == (std::vector<Split>{Split::Train, Split::Val, Split::Test, Split::Train, Split::Test}));
        QCOMPARE(QString::fromStdString(describeSplit(d)),
                 QStringLiteral("train 2 (normal 1, tumor 1) \u00B7 val 1 (normal 0, tumor 1) \u00B7 test 2 (normal 1, tumor 1)"
                                " \u00B7 as given in labels.csv"));

        SplitConfig ignore;
        ignore.useCsvSplit = false;
        QVERIFY(!assignSplits(t, ignore).fromCsv);

        // A split column with no values is no split.
        const LabelsTable empty = LabelsTable::parse("case_id,slide_id,label,split\nc1,s1,normal,\nc2,s2,tumor,\n", "x");
        QVERIFY(empty.hasSplitColumn());
        QVERIFY(!assignSplits(empty, SplitConfig{}).fromCsv);
    }

    void csvSplitWithFolds()
    {
        std::string text = "case_id,slide_id,label,split\n";
        for (int i = 0; i < 12; ++i) {
            for (const char *label : {"normal", "tumor"}) {
                const std::string id = std::string(label) + std::to_string(i);
                const char *split = i < 2 ? "test" : i < 4 ? "val" : "train";
                text += id + ',' + id + "-a," + label + ',' + split + '\n';
                text += id + ',' + id + "-b," + label + ',' + split + '\n';
            }
        }
        const LabelsTable t = LabelsTable::parse(text, "labels.csv");
        QVERIFY(t.issues().empty());
        SplitConfig c;
        c.folds = 5;
        std::map<std::string, int> valFolds;
        for (int f = 0; f < c.folds; ++f) {
            c.fold = f;
            const DatasetSplit d = assignSplits(t, c);
            QVERIFY(d.fromCsv);
            bool straddles = false;
            const auto cases = caseSplits(d, &straddles);
            QVERIFY(!straddles);
            for (std::size_t r = 0; r < d.slides.size(); ++r)
                QCOMPARE(d.slides[r].split == Split::Test, t.rows()[r].split == "test");
            for (const auto &[id, split] : cases)
                valFolds[id] += split == Split::Val;
            // 10 non-test cases per class dealt into 5 folds: 2 val cases (4 slides) per class.
            QCOMPARE(d.counts(), (std::vector<std::vector<int>>{{16, 16}, {4, 4}, {4, 4}}));
        }
        QCOMPARE(valFolds.size(), std::size_t{24});
        for (const auto &[id, n] : valFolds) {
            const bool isTest = (id == "normal0" || id == "normal1" || id == "tumor0" || id == "tumor1");
            QCOMPARE(n, isTest ? 0 : 1);
        }
    }

    void errors()
    {
        QCOMPARE(errorOf([] {
                     assignSplits(makeTable({{"tumor", 10}}), SplitConfig{});
                 }),
                 QStringLiteral("labels.csv has only one class ('tumor'); training needs at least two"));
        QCOMPARE(errorOf([] { assignSplits(LabelsTable(), SplitConfig{}); }),
                 QStringLiteral("labels.csv has no labelled slides; training needs at least two classes"));

        const LabelsTable t = makeTable({{"normal", 4}, {"tumor", 6}});
        auto withConfig = [&t](double val, double test, int folds, int fold) {
            return errorOf([&] {
                SplitConfig c;
                c.valFraction = val;
                c.testFraction = test;
                c.folds = folds;
                c.fold = fold;
                assignSplits(t, c);
            });
        };
        QCOMPARE(withConfig(0.5, 0.5, 1, 0),
                 QStringLiteral("Split fractions val 0.5 and test 0.5 are out of range: each must be at least 0 and together less than 1"));
        QCOMPARE(
            withConfig(-0.1, 0.2, 1, 0),
            QStringLiteral("Split fractions val -0.1 and test 0.2 are out of range: each must be at least 0 and together less than 1"));
        QCOMPARE(withConfig(0.1, 0.1, 0, 0), QStringLiteral("Cannot make 0 folds: the number of folds must be at least 1"));
        QCOMPARE(withConfig(0.1, 0.1, 3, 3), QStringLiteral("Fold 3 is out of range: with 3 folds it must be from 0 to 2"));
        QCOMPARE(withConfig(0.1, 0.1, 3, -1), QStringLiteral("Fold -1 is out of range: with 3 folds it must be from 0 to 2"));
        QCOMPARE(withConfig(0.1, 0.1, 1, 1), QStringLiteral("Fold 1 is out of range: with 1 fold it must be 0"));
        QCOMPARE(withConfig(0.1, 0.1, 5, 0), QStringLiteral("Cannot make 5 folds: class 'normal' has only 4 cases"));
        QCOMPARE(withConfig(0.1, 0.1, 4, 0), QStringLiteral("<no error>"));

        const LabelsTable gap = LabelsTable::parse("case_id,slide_id,label,split\n"
                                                   "c1,s1,normal,train\n"
                                                   "c2,s2,tumor,val\n"
                                                   "c7,s7,normal,\n"
                                                   "c8,s8,tumor,\n",
                                                   "labels.csv");
        QCOMPARE(errorOf([&] { assignSplits(gap, SplitConfig{}); }),
                 QStringLiteral("labels.csv gives no split for slide 's7' while other rows do"));
        SplitConfig ignore;
        ignore.useCsvSplit = false;
        QCOMPARE(errorOf([&] { assignSplits(gap, ignore); }), QStringLiteral("<no error>"));

        const LabelsTable fewTrain = LabelsTable::parse("case_id,slide_id,label,split\n"
                                                        "c1,s1,normal,train\n"
                                                        "c2,s2,normal,test\n"
                                                        "c3,s3,tumor,train\n"
                                                        "c4,s4,tumor,val\n",
                                                        "labels.csv");
        SplitConfig folds;
        folds.folds = 2;
        QCOMPARE(errorOf([&] { assignSplits(fewTrain, folds); }),
                 QStringLiteral("Cannot make 2 folds: class 'normal' has only 1 case outside the test split of labels.csv"));
    }
};

QTEST_GUILESS_MAIN(TstDatasetSplit)
#include "tst_datasetsplit.moc"
