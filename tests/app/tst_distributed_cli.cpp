// SPDX-License-Identifier: GPL-3.0-or-later
// `icmil extract` as a torch.distributed job of two processes on this machine (Gloo on the loopback
// device): launched with --dist-url and with torchrun's variables, each rank extracts its share of
// the slides, and the project's files are byte for byte those of one process; rank 0 prints the
// whole table. A rank whose partner never comes stops with one error within its --dist-timeout.

#include "common/freeport.h"
#include "common/slidetestsupport.h"

#include <QProcess>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

using namespace icmil;
namespace fs = std::filesystem;

namespace {

// Every file under `root` by its path relative to it, with its bytes.
std::map<std::string, std::string> filesUnder(const fs::path &root)
{
    std::map<std::string, std::string> files;
    for (const auto &entry : fs::recursive_directory_iterator(root))
        if (entry.is_regular_file()) {
            std::ifstream in(entry.path(), std::ios::binary);
            files[fs::relative(entry.path(), root).string()] = std::string(std::istreambuf_iterator<char>(in), {});
        }
    return files;
}

struct Finished {
    int exitCode = -1;
    QString output;
};

Finished finish(QProcess &process, int milliseconds = 180000)
{
    Finished result;
    if (process.waitForFinished(milliseconds) && process.exitStatus() == QProcess::NormalExit)
        result.exitCode = process.exitCode();
    result.output = QString::fromUtf8(process.readAllStandardOutput() + process.readAllStandardError());
    return result;
}

} // namespace

class TestDistributedCli : public QObject {
    Q_OBJECT

private:
    fs::path m_dir;
    QString m_slides;

    QStringList extractArguments(const fs::path &project) const
    {
        return {QStringLiteral("extract"), QStringLiteral("--slides"), m_slides, QStringLiteral("--out"),
                QString::fromStdString(project.string())};
    }

    // Two ranks: with `flags` (per rank, appended) and `environment` (per rank, added).
    std::pair<Finished, Finished> runTwoRanks(const fs::path &project, const std::array<QStringList, 2> &flags,
                                              const std::array<QProcessEnvironment, 2> &environment)
    {
        std::array<QProcess, 2> ranks;
        for (int rank = 0; rank < 2; ++rank) {
            ranks[static_cast<std::size_t>(rank)].setProcessEnvironment(environment[static_cast<std::size_t>(rank)]);
            ranks[static_cast<std::size_t>(rank)].start(QStringLiteral(ICMIL_CLI),
                                                        extractArguments(project) + flags[static_cast<std::size_t>(rank)]);
        }
        Finished first = finish(ranks[0]);
        Finished second = finish(ranks[1]);
        return {first, second};
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_distributed_cli");
        fs::remove_all(m_dir);
        fs::create_directories(m_dir);
        m_slides = QString::fromStdString((m_dir / "slides").string());
        QProcess synth;
        synth.start(QStringLiteral(ICMIL_CLI),
                    {QStringLiteral("synth"), QStringLiteral("--out"), m_slides, QStringLiteral("--slides"), QStringLiteral("5"),
                     QStringLiteral("--size"), QStringLiteral("3000x2400")});
        QCOMPARE(finish(synth).exitCode, 0);
    }

    void twoRanksWriteWhatOneProcessWrites()
    {
        // One process first; its project moves aside, since the files record their own folder.
        const fs::path project = m_dir / "project";
        QProcess one;
        one.start(QStringLiteral(ICMIL_CLI), extractArguments(project));
        const Finished single = finish(one);
        QVERIFY2(single.exitCode == 0, qPrintable(single.output));
        const std::map<std::string, std::string> expected = filesUnder(project);
        QCOMPARE(expected.size(), std::size_t{20}); // per slide: patches, features, tissue outline and mask
        fs::remove_all(project);

        // --dist-url on the command line.
        const QString url = QStringLiteral("tcp://127.0.0.1:%1").arg(test::freeLoopbackPort());
        const QProcessEnvironment plain = QProcessEnvironment::systemEnvironment();
        auto [rank0, rank1] = runTwoRanks(project,
                                          {QStringList{QStringLiteral("--dist-url"), url, QStringLiteral("--rank"), QStringLiteral("0"),
                                                       QStringLiteral("--world-size"), QStringLiteral("2")},
                                           QStringList{QStringLiteral("--dist-url"), url, QStringLiteral("--rank"), QStringLiteral("1"),
                                                       QStringLiteral("--world-size"), QStringLiteral("2")}},
                                          {plain, plain});
        QVERIFY2(rank0.exitCode == 0, qPrintable(rank0.output));
        QVERIFY2(rank1.exitCode == 0, qPrintable(rank1.output));
        QVERIFY(filesUnder(project) == expected);
        QVERIFY2(rank0.output.contains(QStringLiteral("torch.distributed: rank 0 of 2 joined (gloo), device cpu")),
                 qPrintable(rank0.output));
        QVERIFY2(rank1.output.contains(QStringLiteral("Rank 1: ")) && rank1.output.contains(QStringLiteral("rank 0 prints the table")),
                 qPrintable(rank1.output));
        // Rank 0's table has every slide, and the total of one process.
        for (int i = 0; i < 5; ++i)
            QVERIFY2(rank0.output.contains(QStringLiteral("slide_00%1 ").arg(i)), qPrintable(rank0.output));
        const QRegularExpression total(QStringLiteral("Extracted (\\d+) patches"));
        QCOMPARE(total.match(rank0.output).captured(1), total.match(single.output).captured(1));
        fs::remove_all(project);

        // torchrun's variables, no flags.
        std::array<QProcessEnvironment, 2> torchrun{plain, plain};
        const int port = test::freeLoopbackPort();
        for (int rank = 0; rank < 2; ++rank) {
            QProcessEnvironment &env = torchrun[static_cast<std::size_t>(rank)];
            env.insert(QStringLiteral("RANK"), QString::number(rank));
            env.insert(QStringLiteral("LOCAL_RANK"), QString::number(rank));
            env.insert(QStringLiteral("WORLD_SIZE"), QStringLiteral("2"));
            env.insert(QStringLiteral("LOCAL_WORLD_SIZE"), QStringLiteral("2"));
            env.insert(QStringLiteral("MASTER_ADDR"), QStringLiteral("127.0.0.1"));
            env.insert(QStringLiteral("MASTER_PORT"), QString::number(port));
        }
        auto [envRank0, envRank1] = runTwoRanks(project, {QStringList{}, QStringList{}}, torchrun);
        QVERIFY2(envRank0.exitCode == 0, qPrintable(envRank0.output));
        QVERIFY2(envRank1.exitCode == 0, qPrintable(envRank1.output));
        QVERIFY2(envRank1.output.contains(QStringLiteral("torch.distributed: rank 1 of 2 (torchrun, 127.0.0.1:%1)").arg(port)),
                 qPrintable(envRank1.output));
        QVERIFY(filesUnder(project) == expected);
    }

    void aRankAloneStopsWithinItsTimeout()
    {
        QProcess alone;
        alone.start(QStringLiteral(ICMIL_CLI),
                    extractArguments(m_dir / "alone")
                        + QStringList{QStringLiteral("--dist-url"), QStringLiteral("tcp://127.0.0.1:%1").arg(test::freeLoopbackPort()),
                                      QStringLiteral("--rank"), QStringLiteral("0"), QStringLiteral("--world-size"), QStringLiteral("2"),
                                      QStringLiteral("--dist-timeout"), QStringLiteral("3")});
        QElapsedTimer timer;
        timer.start();
        const Finished result = finish(alone, 60000);
        QCOMPARE(result.exitCode, 1);
        QVERIFY(timer.elapsed() < 30000);
        QVERIFY2(result.output.contains(QStringLiteral("error: torch.distributed, rank 0 of 2 (--dist-url, 127.0.0.1:")),
                 qPrintable(result.output));
        QVERIFY2(result.output.contains(QStringLiteral("makes the others fail here after 3 s)")), qPrintable(result.output));
        QVERIFY(!fs::exists(m_dir / "alone" / "features")); // nothing written before the job had met
    }
};

QTEST_GUILESS_MAIN(TestDistributedCli)
#include "tst_distributed_cli.moc"
