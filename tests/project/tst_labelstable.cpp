#include "project/labelstable.h"
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
        const LabelsTable t = LabelsTable::parse("\xEF\xBB\xBF" "case_id,slide_id,label\r\n"
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
                                                 "c1,s1,tumor,train\n"  // line 2 ok
                                                 "c2,s1,normal,val\n"   // line 3 duplicate
                                                 "c3,,normal,val\n"     // line 4 empty slide_id
                                                 "c4,s4,,val\n"         // line 5 empty label
                                                 "c5,s5,normal\n"       // line 6 too few fields
                                                 "c6,s6,normal,holdout\n" // line 7 unknown split
                                                 "c7,\"s7,normal,val\n" // line 8 unclosed quote
                                                 "c8,s8,normal,test\n", // line 9 ok
                                                 "labels.csv");
        QCOMPARE(t.rows().size(), std::size_t{2});
        QStringList issues;
        for (const LabelsIssue &i : t.issues())
            issues << QStringLiteral("%1: %2").arg(i.line).arg(QString::fromStdString(i.message));
        QCOMPARE(issues, (QStringList{
                             QStringLiteral("3: duplicate slide_id 's1' (first on line 2)"),
                             QStringLiteral("4: empty slide_id"),
                             QStringLiteral("5: slide 's4' has an empty label"),
                             QStringLiteral("6: expected 4 fields, found 3"),
                             QStringLiteral("7: slide 's6' has unknown split 'holdout' (expected train, val or test)"),
                             QStringLiteral("8: unclosed quote"),
                         }));
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
