// SPDX-License-Identifier: GPL-3.0-or-later
// The CLI's edges: the one error boundary (every exception becomes one "error:" line and status 1,
// LibTorch's backtrace stripped, an unknown type included) and the one Ctrl-C guard (SIGINT or
// SIGTERM cancels the running job once, the previous handlers come back), in process and on the
// real binary: Ctrl-C during `icmil extract` stops it with the features done so far kept.

#include "app/cli/errorboundary.h"
#include "app/cli/interruptguard.h"
#include "common/colormaptable.h"
#include "common/slidetestsupport.h"
#include "project/projectcatalog.h"
#include "project/projectlayout.h"
#include "project/training/attentionstore.h"
#include "project/training/predictiontable.h"

#include <c10/util/Exception.h>

#include <QImage>
#include <QProcess>
#include <QRegularExpression>
#include <QtTest>

#include <csignal>
#include <filesystem>
#include <future>
#include <sstream>
#include <stdexcept>

#include <signal.h>

using namespace icmil;
namespace fs = std::filesystem;

namespace {

std::atomic_int g_ownHandlerCalls{0};
extern "C" void ownHandler(int)
{
    ++g_ownHandlerCalls;
}

sighandler_t currentHandler(int signalNumber)
{
    struct sigaction now { };
    ::sigaction(signalNumber, nullptr, &now);
    return now.sa_handler;
}

} // namespace

class TestCli : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void errorBoundaryPrintsOneLineForEveryException();
    void interruptGuardCancelsOnceAndRestoresTheHandlers_data();
    void interruptGuardCancelsOnceAndRestoresTheHandlers();
    void ctrlCStopsExtractionAndKeepsWhatItHas();
    void slidesWithoutPatchesAreWarningsUnlessStrict();
    void stainNormalisationFromTheCommandLine();
    void loopTableShowsTheAttentionsLocalisation();
    void exportRegionsFindTheirSlides();
    void heatmapsOfARun();
};

void TestCli::errorBoundaryPrintsOneLineForEveryException()
{
    std::ostringstream err;
    QCOMPARE(cli::runWithErrorBoundary([] { return 7; }, err), 7); // a command's own status passes
    QVERIFY(err.str().empty());

    err.str({});
    QCOMPARE(cli::runWithErrorBoundary([]() -> int { TORCH_CHECK(false, "Expected a 2-D tensor,\nbut got 3-D"); }, err), 1);
    QCOMPARE(QString::fromStdString(err.str()), QStringLiteral("error: Expected a 2-D tensor,; but got 3-D\n"));

    err.str({});
    QCOMPARE(cli::runWithErrorBoundary(
                 []() -> int {
                     throw fs::filesystem_error("cannot open", fs::path("/no/such"),
                                                std::make_error_code(std::errc::no_such_file_or_directory));
                 },
                 err),
             1);
    const std::string line = err.str();
    QVERIFY2(line.rfind("error: ", 0) == 0 && line.find("/no/such") != std::string::npos, line.c_str());
    QCOMPARE(std::count(line.begin(), line.end(), '\n'), 1);

    err.str({});
    QCOMPARE(cli::runWithErrorBoundary([]() -> int { throw 42; }, err), 1);
    QCOMPARE(QString::fromStdString(err.str()), QStringLiteral("error: an unexpected error of an unknown type stopped the command\n"));

    QCOMPARE(QString::fromStdString(cli::oneLine("  \n first \n\n second\r\n")), QStringLiteral("first; second"));
    QCOMPARE(QString::fromStdString(cli::oneLine("")), QStringLiteral("an error without a message"));
}

void TestCli::interruptGuardCancelsOnceAndRestoresTheHandlers_data()
{
    QTest::addColumn<int>("signalNumber");
    QTest::newRow("SIGINT") << SIGINT;
    QTest::newRow("SIGTERM") << SIGTERM;
}

void TestCli::interruptGuardCancelsOnceAndRestoresTheHandlers()
{
    QFETCH(int, signalNumber);
    struct sigaction testlibs { }; // Qt Test's own handler, put back at the end
    ::sigaction(signalNumber, nullptr, &testlibs);
    std::signal(signalNumber, ownHandler);
    g_ownHandlerCalls = 0;
    {
        std::promise<void> cancelled;
        std::future<void> called = cancelled.get_future();
        std::atomic_int calls{0};
        const cli::InterruptGuard guard([&] {
            if (calls++ == 0)
                cancelled.set_value();
        });
        QVERIFY(currentHandler(signalNumber) != ownHandler);
        QCOMPARE(guard.signal(), 0);
        QVERIFY_THROWS_EXCEPTION(std::logic_error, cli::InterruptGuard([] {})); // one at a time
        std::raise(signalNumber);
        QVERIFY(called.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        QCOMPARE(guard.signal(), signalNumber);
        QCOMPARE(calls.load(), 1);
    }
    QVERIFY(currentHandler(signalNumber) == ownHandler);
    QCOMPARE(g_ownHandlerCalls.load(), 0);
    {
        // A guard whose job ends without a signal never calls cancel.
        std::atomic_int calls{0};
        {
            const cli::InterruptGuard guard([&] { ++calls; });
        }
        QCOMPARE(calls.load(), 0);
    }
    ::sigaction(signalNumber, &testlibs, nullptr);
}

namespace {

// `icmil synth` of `slides` 6000 x 4800 slides into `out`; true when it succeeded.
bool synthesise(const fs::path &out, int slides, const QStringList &extra = {})
{
    QProcess synth;
    synth.start(QStringLiteral(ICMIL_CLI),
                QStringList{QStringLiteral("synth"), QStringLiteral("--out"), QString::fromStdString(out.string()),
                            QStringLiteral("--slides"), QString::number(slides), QStringLiteral("--size"), QStringLiteral("6000x4800")}
                    + extra);
    return synth.waitForFinished(120000) && synth.exitStatus() == QProcess::NormalExit && synth.exitCode() == 0;
}

} // namespace

void TestCli::ctrlCStopsExtractionAndKeepsWhatItHas()
{
    const fs::path dir = test::scratchDir("tst_cli") / "extract";
    fs::remove_all(dir);
    const QString icmil = QStringLiteral(ICMIL_CLI);
    QVERIFY(synthesise(dir / "data", 2, {QStringLiteral("--seed"), QStringLiteral("3")}));

    // resnet50-trunc on the CPU: ~15 s per slide, so the signal lands while it works.
    QProcess extract;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("ICMIL_PROGRESS_SECONDS"), QStringLiteral("0"));
    extract.setProcessEnvironment(env);
    extract.start(icmil,
                  {QStringLiteral("extract"), QStringLiteral("--slides"), QString::fromStdString((dir / "data").string()),
                   QStringLiteral("--out"), QString::fromStdString((dir / "project").string()), QStringLiteral("--embedder"),
                   QStringLiteral("resnet50-trunc"), QStringLiteral("--batch-size"), QStringLiteral("8")});
    QVERIFY(extract.waitForStarted());
    QByteArray out;
    bool interrupted = false;
    while (extract.state() != QProcess::NotRunning && !interrupted) {
        extract.waitForReadyRead(1000);
        out += extract.readAllStandardOutput();
        // The first batches of slide 1 are done. processId() is 0 once the process has ended, and
        // kill(0, ...) would signal this whole process group (ctest and the tests beside it).
        const qint64 pid = extract.processId();
        if (pid > 0 && out.contains("slide_000 extracting") && out.contains("patches/s ETA")) {
            ::kill(static_cast<pid_t>(pid), SIGINT);
            interrupted = true;
        }
    }
    QVERIFY2(interrupted, out.constData());
    QVERIFY(extract.waitForFinished(120000));
    out += extract.readAllStandardOutput();
    const QByteArray err = extract.readAllStandardError();
    QCOMPARE(extract.exitStatus(), QProcess::NormalExit); // it stopped; the signal did not kill it
    QCOMPARE(extract.exitCode(), 130);
    QVERIFY2(out.contains("Cancelled after"), (out + err).constData());
    QVERIFY2(!err.contains("error:"), err.constData());
}

void TestCli::slidesWithoutPatchesAreWarningsUnlessStrict()
{
    // A folder with a small synthetic slide (6000 x 4800, 3 x 2.4 mm: the default preset keeps its
    // tissue) and bare glass.
    const fs::path dir = test::scratchDir("tst_cli") / "nopatches";
    fs::remove_all(dir);
    const QString icmil = QStringLiteral(ICMIL_CLI);
    QVERIFY(synthesise(dir / "data", 1));
    fs::create_directories(dir / "slides");
    fs::copy_file(dir / "data" / "slides" / "slide_000.svs", dir / "slides" / "slide_000.svs");
    QImage glass(1600, 1200, QImage::Format_RGB32);
    glass.fill(qRgb(245, 245, 245));
    QVERIFY(glass.save(QString::fromStdString((dir / "slides" / "glass.png").string())));

    auto tile = [&](const QStringList &extra, QByteArray &err) {
        QProcess process;
        process.start(icmil,
                      QStringList{QStringLiteral("tile"), QStringLiteral("--slides"), QString::fromStdString((dir / "slides").string()),
                                  QStringLiteral("--out"), QString::fromStdString((dir / "project").string())}
                          + extra);
        process.waitForFinished(120000);
        err = process.readAllStandardError();
        const QByteArray out = process.readAllStandardOutput();
        if (!out.contains("slide_000"))
            qWarning("%s", (out + err).constData());
        return process.exitCode();
    };
    QByteArray err;
    QCOMPARE(tile({}, err), 0);
    QVERIFY2(err.contains("warning: glass has no patches: tissue detection (preset default): the slide looks blank"), err.constData());
    QVERIFY2(err.contains("warning: 1 slide has no patches and no features; training and the ICMIL loop leave them out"), err.constData());
    QVERIFY2(!err.contains("slide_000"), err.constData());
    QCOMPARE(tile({QStringLiteral("--strict")}, err), 1);
    QVERIFY2(err.contains("error: glass has no patches: tissue detection (preset default): the slide looks blank"), err.constData());
    QVERIFY2(err.contains("error: 1 slide has no patches and no features (--strict)"), err.constData());
}

void TestCli::stainNormalisationFromTheCommandLine()
{
    const fs::path dir = test::scratchDir("tst_cli") / "stain";
    fs::remove_all(dir);
    QVERIFY(synthesise(dir / "data", 1, {QStringLiteral("--preset"), QStringLiteral("camelyon")}));
    const QString slide = QString::fromStdString((dir / "data" / "slides" / "slide_000.svs").string());
    auto extract = [&](const QStringList &extra, QByteArray &out) {
        QProcess process;
        process.start(QStringLiteral(ICMIL_CLI),
                      QStringList{QStringLiteral("extract"), QStringLiteral("--slides"), QString::fromStdString((dir / "data").string()),
                                  QStringLiteral("--out"), QString::fromStdString((dir / "project").string())}
                          + extra);
        process.waitForFinished(120000);
        out = process.readAllStandardOutput() + process.readAllStandardError();
        return process.exitCode();
    };
    QByteArray out;
    // The reference from a region of the slide: estimated, named, and recorded with the features.
    const QStringList region{QStringLiteral("--stain-norm"), QStringLiteral("macenko"), QStringLiteral("--stain-reference"),
                             slide + QStringLiteral("@0,0,6000,4800")};
    QCOMPARE(extract(region, out), 0);
    QVERIFY2(out.contains("Stain normalisation macenko to the reference from " + slide.toUtf8() + "@0,0,6000,4800"), out.constData());
    QCOMPARE(extract(region, out), 0);
    QVERIFY2(out.contains("skipped (already extracted)"), out.constData());
    // Other stain settings are other features.
    QCOMPARE(extract({QStringLiteral("--stain-norm"), QStringLiteral("reinhard")}, out), 0);
    QVERIFY2(out.contains("Stain normalisation reinhard to the built-in H&E reference") && !out.contains("already extracted"),
             out.constData());
    QCOMPARE(extract({}, out), 0);
    QVERIFY2(!out.contains("Stain normalisation") && !out.contains("already extracted"), out.constData());
    // A reference that is not one: one line, status 1.
    QCOMPARE(extract({QStringLiteral("--stain-norm"), QStringLiteral("macenko"), QStringLiteral("--stain-reference"),
                      QStringLiteral("nonsense")},
                     out),
             1);
    QVERIFY2(out.contains("error: A stain reference is built-in or SLIDE@X,Y,W,H (a level-0 rectangle), not 'nonsense'"), out.constData());
    QCOMPARE(extract({QStringLiteral("--stain-norm"), QStringLiteral("vahadane")}, out), 105); // CLI11: a value outside its set
    QVERIFY2(out.contains("--stain-norm"), out.constData());
}

void TestCli::loopTableShowsTheAttentionsLocalisation()
{
    // `icmil run` on a synthetic dataset (tumour masks in dataset.json) adds the attention's patch
    // AUC and top-10% share to its per-iteration table, the figures the training panel draws; on
    // the same slides without dataset.json the columns are not there.
    const fs::path dir = test::scratchDir("tst_cli") / "localisation";
    fs::remove_all(dir);
    QVERIFY(
        synthesise(dir / "data", 6, {QStringLiteral("--preset"), QStringLiteral("easy"), QStringLiteral("--seed"), QStringLiteral("3")}));
    auto run = [&](const fs::path &project, QByteArray &out) {
        QProcess process;
        process.start(QStringLiteral(ICMIL_CLI),
                      QStringList{QStringLiteral("run"),
                                  QStringLiteral("--project"),
                                  QString::fromStdString(project.string()),
                                  QStringLiteral("--slides"),
                                  QString::fromStdString((dir / "data").string()),
                                  QStringLiteral("--iterations"),
                                  QStringLiteral("0"),
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
                                  QStringLiteral("3"),
                                  QStringLiteral("--calibration-patches"),
                                  QStringLiteral("64"),
                                  QStringLiteral("--seed"),
                                  QStringLiteral("1")});
        process.waitForFinished(180000);
        out = process.readAllStandardOutput() + process.readAllStandardError();
        return process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    };
    QByteArray out;
    QCOMPARE(run(dir / "with-truth", out), 0);
    QVERIFY2(out.contains("  patch AUC  top-10% (ceiling)\n"), out.constData());
    // Iteration 0's row ends with the two figures: a patch AUC in [0, 1] and "share (ceiling)".
    const QRegularExpression row(QStringLiteral("\\n   0 [^\\n]* s +([01]\\.\\d{3}) +([01]\\.\\d{3}) \\(([01]\\.\\d{3})\\)\\n"));
    const QRegularExpressionMatch match = row.match(QString::fromUtf8(out));
    QVERIFY2(match.hasMatch(), out.constData());
    QVERIFY(match.captured(3).toDouble() > 0.0); // the tumour slides have tumour patches

    fs::remove(dir / "data" / "dataset.json");
    QCOMPARE(run(dir / "without-truth", out), 0);
    QVERIFY2(out.contains("  it   val AUC") && !out.contains("patch AUC"), out.constData());
}

void TestCli::heatmapsOfARun()
{
    // A run's predictions and attention made here: slide_000 and slide_001 exist, slide_002 has
    // attention but no slide file (reported, the others go on, status 1).
    const fs::path dir = test::scratchDir("tst_cli") / "heatmap";
    fs::remove_all(dir);
    QVERIFY(synthesise(dir / "data", 2));
    const fs::path root = dir / "project";
    project::writeProjectSettings(root, {dir / "data", dir / "data" / "labels.csv", {}});
    const project::ProjectLayout layout(root);
    fs::create_directories(layout.attentionDir("enc", "r1"));
    project::PredictionTable table;
    table.run = "r1";
    table.encoder = "enc";
    table.classNames = {"normal", "tumor"};
    for (const std::string id : {"slide_000", "slide_001", "slide_002"}) {
        project::SlideAttention attention;
        attention.slideId = id;
        for (std::int64_t y = 0; y + 512 <= 4800; y += 512)
            for (std::int64_t x = 0; x + 512 <= 6000; x += 512) {
                attention.coords.push_back({x, y});
                attention.attentionRaw.push_back(static_cast<float>(x + y));
            }
        attention.attention = attention.attentionRaw;
        attention.probabilities = {0.5, 0.5};
        attention.classNames = {"normal", "tumor"};
        for (const auto &corner : attention.coords) { // the instance view: tumour on the left
            const float tumour = corner[0] < 3000 ? 0.8f : 0.2f;
            attention.instanceScores.push_back(1.0f - tumour);
            attention.instanceScores.push_back(tumour);
        }
        attention.patchSizeLevel0 = 512;
        project::writeAttentionFile(layout.attentionFile("enc", "r1", id), attention);
        table.rows.push_back({id, id, "", "", -1, {0.5, 0.5}, 0, 0});
    }
    fs::create_directories(layout.runDir("r1"));
    project::writePredictionsJson(layout.runDir("r1") / "predictions.json", table);

    auto heatmap = [&](const QStringList &extra, QByteArray &out) {
        QProcess process;
        process.start(QStringLiteral(ICMIL_CLI),
                      QStringList{QStringLiteral("heatmap"), QStringLiteral("--project"), QString::fromStdString(root.string()),
                                  QStringLiteral("--run"), QStringLiteral("r1"), QStringLiteral("--out"),
                                  QString::fromStdString((dir / "out").string())}
                          + extra);
        process.waitForFinished(120000);
        out = process.readAllStandardOutput() + process.readAllStandardError();
        return process.exitCode();
    };
    QByteArray out;
    QCOMPARE(heatmap({QStringLiteral("--format"), QStringLiteral("both"), QStringLiteral("--overlay")}, out), 1);
    QVERIFY2(out.contains("slide_000        375 x 300 px  slide_000_heatmap.png, slide_000_heatmap.tif (1 level), slide_000_legend.png"),
             out.constData());
    QVERIFY2(out.contains("error: slide_002: No slide file for 'slide_002'"), out.constData());
    QVERIFY2(out.contains("Wrote the heatmaps of 2 slides") && out.contains("error: 1 slide failed"), out.constData());
    const QImage png(QString::fromStdString((dir / "out" / "slide_001_heatmap.png").string()));
    QCOMPARE(png.size(), QSize(375, 300));
    QVERIFY(fs::exists(dir / "out" / "slide_001_heatmap.tif") && fs::exists(dir / "out" / "slide_001_legend.png"));
    QVERIFY(!fs::exists(dir / "out" / "slide_002_heatmap.png"));
    // Named slides only, a TIFF with several levels.
    QCOMPARE(heatmap({QStringLiteral("--slides"), QStringLiteral("slide_001"), QStringLiteral("--format"), QStringLiteral("tiff"),
                      QStringLiteral("--downsample"), QStringLiteral("4"), QStringLiteral("--colormap"), QStringLiteral("turbo")},
                     out),
             0);
    QVERIFY2(out.contains("slide_001        1500 x 1200 px  slide_001_heatmap.tif (3 levels), slide_001_legend.png"), out.constData());
    QVERIFY2(!out.contains("slide_000") && out.contains("Wrote the heatmaps of 1 slide to"), out.constData());
    // The instance view of a class, drawn as the probability it is.
    const QStringList instance{QStringLiteral("--slides"), QStringLiteral("slide_000"), QStringLiteral("--map"), QStringLiteral("instance"),
                               QStringLiteral("--white")};
    QCOMPARE(heatmap(instance + QStringList{QStringLiteral("--class"), QStringLiteral("tumour")}, out), 1);
    QVERIFY2(out.contains("error: Run 'r1' has no class 'tumour' (its classes: normal, tumor)"), out.constData());
    QCOMPARE(heatmap(instance + QStringList{QStringLiteral("--class"), QStringLiteral("normal")}, out), 0);
    QVERIFY2(out.contains("Instance-score heatmaps of run r1 at downsample 16 (viridis, probability)"), out.constData());
    const QImage normal(QString::fromStdString((dir / "out" / "slide_000_heatmap.png").string()));
    const ColormapTable &viridis = colormapTable("viridis");
    const auto rgb = [](const ColormapTable::Rgb &c) { return qRgb(c[0], c[1], c[2]); };
    QCOMPARE(normal.pixel(1000 / 16, 1000 / 16), rgb(viridis.at(0.2))); // left: normal 0.2
    QCOMPARE(normal.pixel(4000 / 16, 1000 / 16), rgb(viridis.at(0.8))); // right: normal 0.8
}

void TestCli::exportRegionsFindTheirSlides()
{
    // A run with attention (and instance scores) for two slides; only s1's file is in the
    // project's slides folder, so s2's regions go out without the bounds offset, said once.
    const fs::path root = test::scratchDir("tst_cli") / "regions";
    fs::remove_all(root);
    fs::create_directories(root / "slides");
    QImage tissue(1024, 1024, QImage::Format_RGB32);
    tissue.fill(qRgb(220, 160, 200));
    QVERIFY(tissue.save(QString::fromStdString((root / "slides" / "s1.png").string())));
    const project::ProjectLayout layout(root);
    project::PredictionTable table;
    table.run = "run1";
    table.encoder = "enc";
    table.classNames = {"normal", "tumor"};
    fs::create_directories(layout.attentionDir("enc", "run1"));
    for (const std::string id : {"s1", "s2"}) {
        project::SlideAttention attention;
        attention.slideId = id;
        attention.patchSizeLevel0 = 256;
        attention.probabilities = {0.4, 0.6};
        for (int i = 0; i < 16; ++i) {
            attention.coords.push_back({256 * (i % 4), 256 * (i / 4)});
            attention.attentionRaw.push_back(static_cast<float>(i));
            attention.instanceScores.push_back(i < 8 ? 0.9f : 0.1f);
            attention.instanceScores.push_back(i < 8 ? 0.1f : 0.9f);
        }
        attention.attention = attention.attentionRaw;
        project::writeAttentionFile(layout.attentionFile("enc", "run1", id), attention);
        project::SlidePredictionRow row;
        row.slideId = id;
        row.probabilities = attention.probabilities;
        table.rows.push_back(row);
    }
    fs::create_directories(layout.runDir("run1"));
    project::writePredictionsJson(layout.runDir("run1") / "predictions.json", table);

    auto exportRegions = [&](const QStringList &extra, QByteArray &out, QByteArray &err) {
        QProcess process;
        process.start(QStringLiteral(ICMIL_CLI),
                      QStringList{QStringLiteral("export"), QStringLiteral("--project"), QString::fromStdString(root.string()),
                                  QStringLiteral("--run"), QStringLiteral("run1"), QStringLiteral("--regions"),
                                  QString::fromStdString((root / "out").string())}
                          + extra);
        process.waitForFinished(60000);
        out = process.readAllStandardOutput();
        err = process.readAllStandardError();
        return process.exitCode();
    };
    QByteArray out, err;
    QCOMPARE(exportRegions({}, out, err), 0);
    QVERIFY(fs::exists(root / "out" / "s1_attention_regions.geojson"));
    QVERIFY(fs::exists(root / "out" / "s2_attention_regions.geojson"));
    QVERIFY2(err.contains("warning: no slide file found for s2: their regions are in level-0 coordinates"), (out + err).constData());
    QCOMPARE(err.count("warning:"), 1);
    QVERIFY2(!err.contains("s1"), err.constData());
    QCOMPARE(
        exportRegions({QStringLiteral("--map"), QStringLiteral("instance"), QStringLiteral("--region-threshold"), QStringLiteral("0.5")},
                      out, err),
        0);
    QVERIFY2(out.contains("Wrote 2 instance score region(s) of 2 slide(s) (patches at or above instance score 0.50)"), out.constData());
    QVERIFY(fs::exists(root / "out" / "s1_instance_regions.geojson"));
    QCOMPARE(exportRegions({QStringLiteral("--map"), QStringLiteral("nonsense")}, out, err), 105); // CLI11: not in its set
}

QTEST_GUILESS_MAIN(TestCli)
#include "tst_cli.moc"
