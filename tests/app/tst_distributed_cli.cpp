// SPDX-License-Identifier: GPL-3.0-or-later
// `icmil extract` as a torch.distributed job of two processes on this machine (Gloo on the loopback
// device): launched with --dist-url and with torchrun's variables, each rank extracts its share of
// the slides, and the project's files are byte for byte those of one process; rank 0 prints the
// whole table. A rank whose partner never comes stops with one error within its --dist-timeout.
// `icmil run` on two ranks (shared extraction, data-parallel fine-tuning, rank 0 training) gives
// one process's predictions within tolerance, and a job one of whose ranks is killed is resumed
// by launching it again.

#include "common/freeport.h"
#include "common/slidetestsupport.h"

#include <QProcess>
#include <QtTest>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>

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

// predictions.csv as rows of fields, keyed by slide id (the first column).
std::map<std::string, std::vector<std::string>> predictionRows(const fs::path &file)
{
    std::map<std::string, std::vector<std::string>> rows;
    std::ifstream in(file);
    std::string line;
    std::getline(in, line); // the header
    while (std::getline(in, line)) {
        std::vector<std::string> fields;
        std::stringstream stream(line);
        for (std::string field; std::getline(stream, field, ',');)
            fields.push_back(field);
        if (!fields.empty())
            rows[fields.front()] = fields;
    }
    return rows;
}

// The largest difference between numeric fields of two predictions files with the same slides
// and the same text fields; 1 when they differ otherwise.
double largestDifference(const fs::path &a, const fs::path &b)
{
    const auto rowsA = predictionRows(a);
    const auto rowsB = predictionRows(b);
    if (rowsA.empty() || rowsA.size() != rowsB.size())
        return 1.0;
    double largest = 0.0;
    for (const auto &[slide, fields] : rowsA) {
        const auto found = rowsB.find(slide);
        if (found == rowsB.end() || found->second.size() != fields.size())
            return 1.0;
        for (std::size_t i = 0; i < fields.size(); ++i) {
            bool numberA = false, numberB = false;
            const double x = QString::fromStdString(fields[i]).toDouble(&numberA);
            const double y = QString::fromStdString(found->second[i]).toDouble(&numberB);
            if (numberA && numberB)
                largest = std::max(largest, std::abs(x - y));
            else if (fields[i] != found->second[i])
                return 1.0;
        }
    }
    return largest;
}

} // namespace

class TestDistributedCli : public QObject {
    Q_OBJECT

private:
    fs::path m_dir;
    QString m_slides;
    QString m_loopSlides;

    QStringList extractArguments(const fs::path &project) const
    {
        return {QStringLiteral("extract"), QStringLiteral("--slides"), m_slides, QStringLiteral("--out"),
                QString::fromStdString(project.string())};
    }

    // `icmil run` with one fine-tuning iteration, small enough for a test.
    QStringList runArguments(const fs::path &project) const
    {
        return {QStringLiteral("run"),
                QStringLiteral("--project"),
                QString::fromStdString(project.string()),
                QStringLiteral("--slides"),
                m_loopSlides,
                QStringLiteral("--iterations"),
                QStringLiteral("1"),
                QStringLiteral("--device"),
                QStringLiteral("cpu"),
                QStringLiteral("--level"),
                QStringLiteral("0"),
                QStringLiteral("--patch-size"),
                QStringLiteral("256"),
                QStringLiteral("--preset"),
                QStringLiteral("bwh_biopsy"),
                QStringLiteral("--embed-dim"),
                QStringLiteral("32"),
                QStringLiteral("--attention-dim"),
                QStringLiteral("16"),
                QStringLiteral("--epochs"),
                QStringLiteral("4"),
                QStringLiteral("--calibration-patches"),
                QStringLiteral("64"),
                QStringLiteral("--finetune-epochs"),
                QStringLiteral("2"),
                QStringLiteral("--finetune-patches"),
                QStringLiteral("40"),
                QStringLiteral("--finetune-batch"),
                QStringLiteral("16"),
                QStringLiteral("--finetune-lr"),
                QStringLiteral("0.001"),
                QStringLiteral("--teacher-temperature"),
                QStringLiteral("0.5"),
                QStringLiteral("--readers"),
                QStringLiteral("1"),
                QStringLiteral("--seed"),
                QStringLiteral("1")};
    }

    static QStringList rankFlags(const QString &url, int rank, const QStringList &more = {})
    {
        return QStringList{QStringLiteral("--dist-url"),   url,
                           QStringLiteral("--rank"),       QString::number(rank),
                           QStringLiteral("--world-size"), QStringLiteral("2")}
        + more;
    }

    // Two ranks of `arguments`: with `flags` (per rank, appended) and `environment` (per rank).
    static std::pair<Finished, Finished> runTwoRanks(const QStringList &arguments, const std::array<QStringList, 2> &flags,
                                                     const std::array<QProcessEnvironment, 2> &environment)
    {
        std::array<QProcess, 2> ranks;
        for (int rank = 0; rank < 2; ++rank) {
            ranks[static_cast<std::size_t>(rank)].setProcessEnvironment(environment[static_cast<std::size_t>(rank)]);
            ranks[static_cast<std::size_t>(rank)].start(QStringLiteral(ICMIL_CLI), arguments + flags[static_cast<std::size_t>(rank)]);
        }
        Finished first = finish(ranks[0]);
        Finished second = finish(ranks[1]);
        return {first, second};
    }

    // Two ranks of `arguments` joined by --dist-url on a free loopback port.
    static std::pair<Finished, Finished> runTwoRanksByUrl(const QStringList &arguments)
    {
        const QString url = QStringLiteral("tcp://127.0.0.1:%1").arg(test::freeLoopbackPort());
        const QProcessEnvironment plain = QProcessEnvironment::systemEnvironment();
        return runTwoRanks(arguments, {rankFlags(url, 0), rankFlags(url, 1)}, {plain, plain});
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
        m_loopSlides = QString::fromStdString((m_dir / "loop-slides").string());
        QProcess loopSynth;
        loopSynth.start(QStringLiteral(ICMIL_CLI),
                        {QStringLiteral("synth"), QStringLiteral("--out"), m_loopSlides, QStringLiteral("--slides"), QStringLiteral("8"),
                         QStringLiteral("--size"), QStringLiteral("4096x3072"), QStringLiteral("--preset"), QStringLiteral("easy"),
                         QStringLiteral("--seed"), QStringLiteral("3")});
        QCOMPARE(finish(loopSynth).exitCode, 0);
    }

    void theLoopOnTwoRanksIsOneProcessAndResumesAfterAKill()
    {
        const fs::path one = m_dir / "loop-one";
        QProcess single;
        single.start(QStringLiteral(ICMIL_CLI), runArguments(one));
        const Finished alone = finish(single, 120000);
        QVERIFY2(alone.exitCode == 0, qPrintable(alone.output));
        const fs::path it0 = fs::path("runs") / "icmil-it0" / "predictions.csv";
        const fs::path it1 = fs::path("runs") / "icmil-it1" / "predictions.csv";

        // Two ranks: iteration 0 is the same computation (extraction byte for byte, training on
        // rank 0); iteration 1's embedder is fine-tuned data-parallel, equal up to rounding.
        const fs::path two = m_dir / "loop-two";
        const auto [rank0, rank1] = runTwoRanksByUrl(runArguments(two));
        QVERIFY2(rank0.exitCode == 0, qPrintable(rank0.output));
        QVERIFY2(rank1.exitCode == 0, qPrintable(rank1.output));
        QVERIFY2(rank0.output.contains(QStringLiteral("it 1 fine-tune epoch 2/2")), qPrintable(rank0.output));
        QVERIFY2(rank1.output.contains(QStringLiteral("Rank 1: finished; rank 0 prints the results")), qPrintable(rank1.output));
        QVERIFY(largestDifference(one / it0, two / it0) < 1e-4); // rank 0 trains on 1 thread, the one process on 2
        const double difference = largestDifference(one / it1, two / it1);
        qInfo("iteration 1 predictions, two ranks vs one process: largest difference %.3g", difference);
        QVERIFY(difference < 1e-3);

        // Rank 1 killed once iteration 0 is trained: rank 0 stops within its timeout; the same
        // job launched again resumes at iteration 1 and ends as the uninterrupted one did.
        const fs::path killed = m_dir / "loop-killed";
        const QString url2 = QStringLiteral("tcp://127.0.0.1:%1").arg(test::freeLoopbackPort());
        const QStringList shortTimeout{QStringLiteral("--dist-timeout"), QStringLiteral("10")};
        std::array<QProcess, 2> doomed;
        for (int rank = 0; rank < 2; ++rank)
            doomed[static_cast<std::size_t>(rank)].start(QStringLiteral(ICMIL_CLI),
                                                         runArguments(killed) + rankFlags(url2, rank, shortTimeout));
        QByteArray rank1Output;
        QElapsedTimer waited;
        waited.start();
        while (!rank1Output.contains("it 0 train done") && waited.elapsed() < 300000) {
            doomed[1].waitForReadyRead(200);
            rank1Output += doomed[1].readAllStandardOutput();
        }
        QVERIFY2(rank1Output.contains("it 0 train done"), rank1Output.constData());
        ::kill(static_cast<pid_t>(doomed[1].processId()), SIGKILL);
        doomed[1].waitForFinished(10000);
        const Finished stopped = finish(doomed[0], 120000);
        QVERIFY2(stopped.exitCode == 1, qPrintable(stopped.output));
        QVERIFY2(stopped.output.contains(QStringLiteral("error: torch.distributed, rank 0 of 2")), qPrintable(stopped.output));
        QVERIFY(!fs::exists(killed / it1));

        const auto [resumed0, resumed1] = runTwoRanksByUrl(runArguments(killed));
        QVERIFY2(resumed0.exitCode == 0, qPrintable(resumed0.output));
        QVERIFY2(resumed1.exitCode == 0, qPrintable(resumed1.output));
        QVERIFY2(resumed0.output.contains(QStringLiteral("Resuming the ICMIL loop 'icmil' at iteration 1")), qPrintable(resumed0.output));
        QCOMPARE(largestDifference(two / it0, killed / it0), 0.0);
        QCOMPARE(largestDifference(two / it1, killed / it1), 0.0);

        // The loop's model applied to new slides (`predict --model`) on two ranks: each rank
        // extracts its share, rank 0 predicts every slide; the same table as one process.
        const fs::path bundle = m_dir / "model.icmil";
        QProcess exportModel;
        exportModel.start(QStringLiteral(ICMIL_CLI),
                          {QStringLiteral("export-model"), QStringLiteral("--project"), QString::fromStdString(one.string()),
                           QStringLiteral("--loop"), QStringLiteral("icmil"), QStringLiteral("--out"),
                           QString::fromStdString(bundle.string())});
        const Finished exported = finish(exportModel);
        QVERIFY2(exported.exitCode == 0, qPrintable(exported.output));
        auto predictArguments = [&](const fs::path &out) {
            return QStringList{QStringLiteral("predict"),
                               QStringLiteral("--model"),
                               QString::fromStdString(bundle.string()),
                               QStringLiteral("--slides"),
                               m_slides,
                               QStringLiteral("--out"),
                               QString::fromStdString(out.string()),
                               QStringLiteral("--device"),
                               QStringLiteral("cpu"),
                               QStringLiteral("--readers"),
                               QStringLiteral("1")};
        };
        QProcess predictOne;
        predictOne.start(QStringLiteral(ICMIL_CLI), predictArguments(m_dir / "predict-one"));
        const Finished predictedOne = finish(predictOne);
        QVERIFY2(predictedOne.exitCode == 0, qPrintable(predictedOne.output));
        const auto [predicted0, predicted1] = runTwoRanksByUrl(predictArguments(m_dir / "predict-two"));
        QVERIFY2(predicted0.exitCode == 0, qPrintable(predicted0.output));
        QVERIFY2(predicted1.exitCode == 0, qPrintable(predicted1.output));
        QVERIFY2(predicted1.output.contains(QStringLiteral("Rank 1: features of its share made; rank 0 predicts")),
                 qPrintable(predicted1.output));
        QVERIFY2(predicted0.output.contains(QStringLiteral("Predicted 5 of 5 slides")), qPrintable(predicted0.output));
        QVERIFY(largestDifference(m_dir / "predict-one" / "predictions.csv", m_dir / "predict-two" / "predictions.csv") < 1e-5);
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
        auto [rank0, rank1] = runTwoRanks(extractArguments(project), {rankFlags(url, 0), rankFlags(url, 1)}, {plain, plain});
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
        auto [envRank0, envRank1] = runTwoRanks(extractArguments(project), {QStringList{}, QStringList{}}, torchrun);
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
