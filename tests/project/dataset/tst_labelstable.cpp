// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/dataset/labelstable.h"
#include "project/projecterror.h"

#include <QtTest>

#include <filesystem>

using namespace icmil::project;
namespace fs = std::filesystem;

class TstLabelsTable : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void parsesClamLayout()
    {
        const LabelsTable t = LabelsTable::parse("\xEF\xBB\xBF"
                                                 "case_id,slide_id,label\r\n"
                                                 "c1,s1,tumor\r\n"
                                                 "c1,s2,normal\r\n"
                                                 "\r\n"
                                                 "\"c,2\",\"s\"\"3\",tumor\r\n",
                                                 "labels.csv");
        QVERIFY(t.issues().empty());
        QVERIFY(!t.hasSplitColumn());
        QCOMPARE(t.rows().size(), std::size_t{3});
        QCOMPARE(QString::fromStdString(t.rows()[2].caseId), QStringLiteral("c,2"));
        QCOMPARE(QString::fromStdString(t.rows()[2].slideId), QStringLiteral("s\"3"));
        QCOMPARE(t.classNames(), (std::vector<std::string>{"normal", "tumor"}));
        QVERIFY(t.find("s2").has_value());
        QVERIFY(!t.find("nope").has_value());
    }

    void columnsInAnyOrderWithSplit()
    {
        const LabelsTable t = LabelsTable::parse("label,Split,slide_id,case_id\nnormal,TRAIN,a,ca\ntumor,test,b,\n", "x");
        QVERIFY(t.hasSplitColumn());
        QCOMPARE(t.rows().size(), std::size_t{2});
        QCOMPARE(QString::fromStdString(t.rows()[0].split), QStringLiteral("train"));
        QCOMPARE(QString::fromStdString(t.rows()[1].caseId), QStringLiteral("b")); // missing case -> its slide
    }

    void rowProblemsAreListedNotThrown()
    {
        const LabelsTable t = LabelsTable::parse("case_id,slide_id,label,split\n"
                                                 "c1,s1,tumor,train\n"    // line 2 ok
                                                 "c2,s1,normal,val\n"     // line 3 duplicate
                                                 "c3,,normal,val\n"       // line 4 empty slide_id
                                                 "c4,s4,,val\n"           // line 5 empty label
                                                 "c5,s5,normal\n"         // line 6 too few fields
                                                 "c6,s6,normal,holdout\n" // line 7 unknown split
                                                 "c7,\"s7,normal,val\n"   // line 8 unclosed quote
                                                 "c8,s8,normal,test\n",   // line 9 ok
                                                 "labels.csv");
        QCOMPARE(t.rows().size(), std::size_t{2});
        QStringList issues;
        for (const LabelsIssue &i : t.issues())
            issues << QStringLiteral("%1: %2").arg(i.line).arg(QString::fromStdString(i.message));
        QCOMPARE(issues,
                 (QStringList{
                     QStringLiteral("3: duplicate slide_id 's1' (first on line 2)"),
                     QStringLiteral("4: empty slide_id"),
                     QStringLiteral("5: slide 's4' has an empty label"),
                     QStringLiteral("6: expected 4 fields, found 3"),
                     QStringLiteral("7: slide 's6' has unknown split 'holdout' (expected train, val or test)"),
                     QStringLiteral("8: unclosed quote"),
                 }));
    }

    void likelyMistakesAreWarnedAbout()
    {
        // Ten slides each of normal and tumor, a 'tumour' and a 'Normal' (typos that would make
        // classes of their own), a rare class that is no typo, and a row without case_id.
        std::string csv = "case_id,slide_id,label\n";
        for (int i = 0; i < 20; ++i)
            csv += "c" + std::to_string(i) + ",s" + std::to_string(i) + "," + (i % 2 ? "tumor" : "normal") + "\n";
        csv += "c20,s20,tumour\n"    // line 22
               "c21,s21,Normal\n"    // line 23
               ",s22,normal\n"       // line 24
               "c23,s23,lymphoma\n"; // line 25
        const LabelsTable t = LabelsTable::parse(csv, "labels.csv");
        QVERIFY(t.issues().empty());
        QCOMPARE(t.rows().size(), std::size_t{24});
        QStringList warnings;
        for (const LabelsIssue &w : t.warnings()) {
            QVERIFY(w.warning && !w.blocking);
            warnings << QStringLiteral("%1: %2").arg(w.line).arg(QString::fromStdString(w.message));
        }
        QCOMPARE(
            warnings,
            (QStringList{
                QStringLiteral("22: label 'tumour' (1 slide(s)) is close to 'tumor' (10): if it is a typo, it makes a class of its own"),
                QStringLiteral("23: label 'Normal' (1 slide(s)) is close to 'normal' (11): if it is a typo, it makes a class of its own"),
                QStringLiteral("24: slide 's22' has an empty case_id: it is taken as a case of its own (a patient's other "
                               "slides may land in another split)"),
                QStringLiteral("25: class 'lymphoma' has only 1 slide(s): too few to learn or to evaluate it (is the label a typo?)"),
            }));
        // With the class names given, labels are checked against them instead.
        QCOMPARE(t.warnings(true).size(), std::size_t{1});
        QCOMPARE(t.rows()[22].caseId, std::string("s22"));
    }

    void fileLevelErrorsThrow()
    {
        auto message = [](auto &&f) {
            try {
                f();
            } catch (const ProjectError &e) {
                return QString::fromStdString(e.what());
            }
            return QStringLiteral("<no error>");
        };
        QCOMPARE(message([] { LabelsTable::parse("", "a.csv"); }),
                 QStringLiteral("Labels file 'a.csv' is empty: expected a header case_id,slide_id,label[,split]"));
        QCOMPARE(message([] { LabelsTable::parse("case_id,slide,label\n", "a.csv"); }),
                 QStringLiteral("Labels file 'a.csv' has no 'slide_id' column: expected a header "
                                "case_id,slide_id,label[,split]"));
        QCOMPARE(message([] { LabelsTable().write("/nonexistent/labels.csv"); }),
                 QStringLiteral("Cannot write '/nonexistent/labels.csv': No such file or directory"));
        QCOMPARE(message([] { LabelsTable::read("/nonexistent/labels.csv"); }),
                 QStringLiteral("Cannot read labels file '/nonexistent/labels.csv': file does not exist or is unreadable"));
    }

    void writeThenReadRoundTrips()
    {
        const QByteArray env = qgetenv("ICMIL_TEST_SCRATCH");
        const fs::path dir = env.isEmpty() ? fs::temp_directory_path() / "icmil-tst_labelstable" : fs::path(env.toStdString());
        fs::create_directories(dir);
        LabelsTable t;
        t.add({"c1", "s1", "tumor", "train"});
        t.add({"c,2", "s2", "normal", "test"});
        t.write(dir / "labels.csv");
        QVERIFY(!fs::exists(dir / "labels.csv.partial"));
        const LabelsTable back = LabelsTable::read(dir / "labels.csv");
        QVERIFY(back.issues().empty());
        QCOMPARE(back.rows().size(), std::size_t{2});
        QCOMPARE(QString::fromStdString(back.rows()[1].caseId), QStringLiteral("c,2"));
        QCOMPARE(QString::fromStdString(back.rows()[1].split), QStringLiteral("test"));
    }
};

QTEST_GUILESS_MAIN(TstLabelsTable)
#include "tst_labelstable.moc"
