// SPDX-License-Identifier: GPL-3.0-or-later
// The bad-input slide corpus (tests/fixtures/malformed) through the icmil binary: `icmil info`
// gives each file's one exact error (status 1, one line on stderr, nothing else), and a project
// run over a folder that mixes them with good slides (`icmil extract`) names each bad slide with
// that error and extracts the good ones.
#include "common/slidetestsupport.h"
#include "fixtures/malformed/malformedcorpus.h"

#include <QProcess>
#include <QtTest>

#include <filesystem>
#include <string>

using icmil::testing::MalformedFile;
namespace fs = std::filesystem;

namespace {

struct Outcome {
    int exitCode = -1;
    QString out, err;
};

Outcome runIcmil(const QStringList &arguments, int timeoutMs = 120000)
{
    QProcess process;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("OMP_WAIT_POLICY"), QStringLiteral("PASSIVE"));
    process.setProcessEnvironment(env);
    process.start(QStringLiteral(ICMIL_CLI), arguments);
    Outcome outcome;
    if (!process.waitForFinished(timeoutMs) || process.exitStatus() != QProcess::NormalExit) {
        process.kill();
        process.waitForFinished();
        outcome.err = QStringLiteral("icmil did not finish: ") + process.errorString();
        return outcome;
    }
    outcome.exitCode = process.exitCode();
    outcome.out = QString::fromUtf8(process.readAllStandardOutput());
    outcome.err = QString::fromUtf8(process.readAllStandardError());
    return outcome;
}

QString str(const fs::path &path)
{
    return QString::fromStdString(path.string());
}

} // namespace

class TstMalformedSlides : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    icmil::testing::MalformedCorpus m_corpus;

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = icmil::test::scratchDir("tst_malformedslides-cli");
        fs::remove_all(m_dir);
        m_corpus = icmil::testing::writeMalformedCorpus(m_dir / "corpus");
    }

    void infoGivesOneExactError_data()
    {
        QTest::addColumn<int>("index");
        for (std::size_t i = 0; i < m_corpus.files.size(); ++i)
            QTest::newRow(m_corpus.files[i].name.c_str()) << static_cast<int>(i);
    }

    void infoGivesOneExactError()
    {
        QFETCH(int, index);
        const MalformedFile &file = m_corpus.files[static_cast<std::size_t>(index)];
        const fs::path path = m_dir / "corpus" / file.name;
        const Outcome info = runIcmil({QStringLiteral("info"), str(path)});
        if (file.opens()) {
            QCOMPARE(info.err, QString());
            QCOMPARE(info.exitCode, 0);
            QVERIFY2(info.out.contains(QStringLiteral("\nBackend:     %1 ").arg(QString::fromStdString(file.backend))),
                     qPrintable(info.out));
        } else {
            QCOMPARE(info.err, QStringLiteral("error: %1\n").arg(QString::fromStdString(file.error(path))));
            QCOMPARE(info.out, QString());
            QCOMPARE(info.exitCode, 1);
        }
    }

    void projectRunNamesEachBadSlideAndExtractsTheRest()
    {
        // A slides folder: two good synthetic slides among every malformed file.
        const fs::path slides = m_dir / "mixed" / "slides";
        const fs::path project = m_dir / "mixed" / "project";
        fs::remove_all(m_dir / "mixed");
        fs::create_directories(slides);
        for (const MalformedFile &file : m_corpus.files)
            fs::copy_file(m_dir / "corpus" / file.name, slides / file.name);
        fs::copy_file(m_corpus.intactSlide, slides / "good-a.svs");
        fs::copy_file(m_corpus.intactSlide, slides / "good-b.svs");

        const Outcome run
            = runIcmil({QStringLiteral("extract"), QStringLiteral("--slides"), str(slides), QStringLiteral("--out"), str(project),
                        QStringLiteral("--embedder"), QStringLiteral("tiny-cnn"), QStringLiteral("--readers"), QStringLiteral("2")},
                       300000);
        const QString all = run.out + run.err;
        QCOMPARE(run.exitCode, 1); // some slides failed
        int failed = 0;
        for (const MalformedFile &file : m_corpus.files) {
            const QString id = QString::fromStdString(fs::path(file.name).stem().string());
            if (file.opens())
                continue;
            ++failed;
            const QString line = QStringLiteral("\n%1 %2 patches  FAILED: %3\n")
                                     .arg(id, -16)
                                     .arg(0, 7)
                                     .arg(QString::fromStdString(file.error(slides / file.name)));
            QVERIFY2(run.out.contains(line), qPrintable(QStringLiteral("no line\n%1\nin\n%2").arg(line, all)));
        }
        QVERIFY2(
            run.err.contains(QStringLiteral("error: %1 slide(s) failed (the reason is on each one's line); replace or remove a damaged "
                                            "slide, then run the same command again: it keeps the slides already done "
                                            "and retries the rest\n")
                                 .arg(failed)),
            qPrintable(all));
        // The good slides went on: each has its features.
        for (const char *good : {"good-a", "good-b"}) {
            QVERIFY2(QRegularExpression(QStringLiteral("\n%1 +[1-9][0-9]* patches  [0-9.]+ s\n").arg(QLatin1String(good)))
                         .match(run.out)
                         .hasMatch(),
                     qPrintable(all));
            QVERIFY2(fs::exists(project / "features" / "tiny-cnn" / (std::string(good) + ".h5")), qPrintable(all));
        }
        // Each bad slide once, by name, and nothing from a library on stderr.
        const QStringList errLines = run.err.split(u'\n', Qt::SkipEmptyParts);
        for (const QString &line : errLines)
            QVERIFY2(line.startsWith(QStringLiteral("error: ")) || line.startsWith(QStringLiteral("warning: ")), qPrintable(run.err));
    }
};

QTEST_GUILESS_MAIN(TstMalformedSlides)
#include "tst_malformedslides.moc"
