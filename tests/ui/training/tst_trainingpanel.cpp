// SPDX-License-Identifier: GPL-3.0-or-later
// The training panel on a tiny synthetic project, through the real TrainingWorker and its
// "icmil-training" thread: iterations 0..1 fill the charts (one validation and one test point
// per iteration, classifier epochs, the best iteration's test ROC), progress names the phases,
// the GUI event loop keeps ticking during the run, Stop ends a run as cancelled within a second
// and Resume completes it, and a missing weights file ends in failed(message) shown in the log.
// The dataset is synthetic, so each iteration's row carries the attention's localisation; the
// fine-tuning chart has iteration 1's epochs. Duration estimates come from a fixed fake (the
// real probe is tested in tst_loopdurationestimate, the estimate's display in tst_trainingcharts).

#include "common/slidetestsupport.h"

#include "project/backend/torchbackend.h"
#include "project/loop/icmilloopconfig.h"
#include "project/loop/icmilloopstate.h"
#include "project/dataset/syntheticdataset.h"
#include "slide/tissue/tissuedetectionparams.h"
#include "ui/training/iterationtable.h"
#include "ui/training/trainingcharts.h"
#include "ui/training/trainingpanel.h"
#include "ui/training/trainingsettingsform.h"
#include "ui/training/trainingworker.h"

#include <QComboBox>
#include <QElapsedTimer>
#include <QLabel>
#include <QPushButton>
#include <QPlainTextEdit>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTimer>
#include <QWheelEvent>
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

using namespace icmil;
using namespace icmil::ui;
namespace fs = std::filesystem;

namespace {

// Measures the longest gap between ticks of a 10 ms timer on the GUI thread.
class TickMonitor {
public:
    TickMonitor()
    {
        m_clock.start();
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            m_maxGap = std::max(m_maxGap, m_clock.restart());
            ++m_ticks;
        });
        m_timer.start(10);
    }
    qint64 maxGapMs() const { return m_maxGap; }
    int ticks() const { return m_ticks; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_maxGap = 0;
    int m_ticks = 0;
};

} // namespace

class TstTrainingPanel : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    fs::path m_dataset;

    // Tiny settings as tst_icmilloop's: a seeded tiny-cnn, level-0 patches of 256 px, a small
    // ABMIL, 4 classifier epochs, 2 fine-tuning epochs of 48 patches.
    void configure(TrainingPanel &panel, const std::string &project) const
    {
        project::IcmilLoopConfig base = TrainingSettings::defaultLoopConfig();
        base.embedder.seed = 7;
        base.extraction.batchSize = 32;
        base.extraction.readerThreads = 2;
        base.model.embedDim = 32;
        base.model.attentionDim = 16;
        base.fineTuning.batchSize = 16;
        base.fineTuning.maxValidationPatches = 32;
        base.fineTuning.readerThreads = 2;
        panel.setBaseConfig(base);
        panel.worker()->setDurationEstimator([](const project::IcmilLoopConfig &) { return project::LoopDurationEstimate{}; });
        TrainingSettings s;
        s.projectRoot = m_dir / project;
        s.slides = m_dataset;
        s.iterations = 1;
        s.epochs = 4;
        s.learningRate = 1e-3;
        s.fineTuneEpochs = 2;
        s.fineTunePatches = 48;
        s.fineTuneLearningRate = 1e-4;
        s.device = "cpu";
        s.tissuePreset = "bwh_biopsy";
        s.magnification = 0.0; // level 0
        panel.setSettings(s);
        panel.setConfirmation([](const QString &) { return true; });
    }

    static QPushButton *button(TrainingPanel &panel, const QString &text)
    {
        for (QPushButton *b : panel.findChildren<QPushButton *>())
            if (b->text() == text)
                return b;
        return nullptr;
    }

    // One validation and one test point per iteration 0..last, at x = iteration, AUC in [0, 1].
    static void checkIterationChart(const TrainingCharts &charts, int last)
    {
        QCOMPARE(charts.iterationPointCount(), last + 1);
        for (const auto &points : {charts.validationAucPoints(), charts.testAucPoints()}) {
            QCOMPARE(static_cast<int>(points.size()), last + 1);
            for (int k = 0; k <= last; ++k) {
                QCOMPARE(points[static_cast<std::size_t>(k)].x(), double(k));
                QVERIFY(points[static_cast<std::size_t>(k)].y() >= 0.0 && points[static_cast<std::size_t>(k)].y() <= 1.0);
            }
        }
    }

private Q_SLOTS:
    void stainReferenceProfileStaysWithItsReference()
    {
        // The form shows the stain reference's name, not its profile: a saved loop's profile
        // stays with its reference, and a reference typed since is estimated when the run starts
        // (the built-in profile until then).
        ui::TrainingSettings saved;
        saved.stainMethod = "macenko";
        saved.stainReference = "/slides/a.svs@1,2,300,400";
        saved.stainReferenceProfile.labMean = {-0.5, 0.02, 0.01};
        saved.stainJitter = 0.05;
        saved.negativeClass = "normal";
        ui::TrainingSettingsForm form;
        form.setSettings(saved);
        QCOMPARE(form.settings().negativeClass, std::string("normal"));
        QVERIFY(form.settings().stainReferenceProfile == saved.stainReferenceProfile);
        QCOMPARE(form.settings().stainMethod, std::string("macenko"));
        QCOMPARE(form.settings().stainJitter, 0.05);
        form.setStainReference(QStringLiteral("/slides/b.svs@0,0,10,10"));
        QCOMPARE(form.settings().stainReference, std::string("/slides/b.svs@0,0,10,10"));
        QVERIFY(form.settings().stainReferenceProfile == engine::builtInStainReference());
    }

    void initTestCase()
    {
        // As after a first run: LibTorch loaded (docs/ARCHITECTURE.md, "LibTorch on demand"). The
        // GUI-stall bound below is about a training run; the one-time load holds the dynamic
        // loader's lock, which a paint can need (measured separately, in the closing note of the
        // change that made LibTorch load on demand), and the panel estimates by itself only then.
        project::torchBackend();
        m_dir = test::scratchDir("tst_trainingpanel");
        m_dataset = m_dir / "dataset";
        for (const fs::directory_entry &entry : fs::directory_iterator(m_dir))
            if (entry.path() != m_dataset)
                fs::remove_all(entry.path());
        project::SyntheticDatasetConfig synth;
        synth.outputDir = m_dataset;
        synth.slides = 8;
        synth.seed = 31;
        synth.width = 4096;
        synth.height = 3072;
        const project::SyntheticDatasetResult dataset = project::SyntheticDataset(synth).generate();
        // Per class two train, one validation and one test slide: both AUCs are defined.
        std::map<std::string, int> seen;
        std::string labels = "case_id,slide_id,label,split\n";
        for (const project::SyntheticSlideRecord &slide : dataset.slides) {
            const int n = seen[slide.label]++;
            labels += slide.caseId + "," + slide.slideId + "," + slide.label + "," + (n < 2 ? "train" : n == 2 ? "val" : "test") + "\n";
        }
        QCOMPARE(seen["tumor"], 4);
        std::ofstream(m_dataset / "labels.csv", std::ios::binary) << labels;
    }

    void runsTwoIterationsOnTheWorkerThread()
    {
        TrainingPanel panel;
        configure(panel, "full");
        panel.resize(1200, 800);
        panel.show();
        QSignalSpy finished(&panel, &TrainingPanel::runFinished);
        QSignalSpy failed(&panel, &TrainingPanel::runFailed);
        QSignalSpy progress(&panel, &TrainingPanel::progressTextChanged);
        QSignalSpy epochs(panel.worker(), &TrainingWorker::classifierEpochFinished);
        QSignalSpy iterations(panel.worker(), &TrainingWorker::iterationFinished);
        QTRY_VERIFY(!panel.canResume()); // no saved loop
        QVERIFY(button(panel, QStringLiteral("Train"))->isEnabled());
        QVERIFY(!button(panel, QStringLiteral("Stop"))->isEnabled());

        TickMonitor ticks;
        QElapsedTimer clock;
        clock.start();
        QTest::mouseClick(button(panel, QStringLiteral("Train")), Qt::LeftButton);
        QVERIFY(panel.isRunning());
        QVERIFY(button(panel, QStringLiteral("Stop"))->isEnabled());
        QVERIFY(!button(panel, QStringLiteral("Train"))->isEnabled());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        qInfo("two iterations in %lld ms; the GUI's longest stall %lld ms over %d ticks", clock.elapsed(), ticks.maxGapMs(), ticks.ticks());
        QCOMPARE(failed.count(), 0);
        QVERIFY(!panel.isRunning());
        QVERIFY2(ticks.maxGapMs() < 200, qPrintable(QString::number(ticks.maxGapMs())));

        // Progress named the phases; epochs came for both iterations; the best run is named.
        QStringList texts;
        for (const QList<QVariant> &p : progress)
            texts << p.at(0).toString();
        const QString all = texts.join(QLatin1Char('\n'));
        QVERIFY2(all.contains(QStringLiteral("extracting features")), qPrintable(all.left(2000)));
        QVERIFY(all.contains(QStringLiteral("training classifier")));
        QVERIFY(all.contains(QStringLiteral("fine-tuning embedder")));
        QVERIFY(all.contains(QStringLiteral("Iteration 1/1")));
        QCOMPARE(epochs.count(), 8);
        QCOMPARE(iterations.count(), 2);
        QCOMPARE(panel.progressText(), QStringLiteral("Finished"));
        const QString best = finished.at(0).at(0).toString();
        QVERIFY2(best == QStringLiteral("icmil-it0") || best == QStringLiteral("icmil-it1"), qPrintable(best));
        // The log says which threshold the table's predictions use (not the epochs' 0.5).
        static const QRegularExpression threshold(
            QStringLiteral("Iteration 1 predictions \\(the project's table\\): tumor when "
                           "P\\(tumor\\) >= [01]\\.[0-9]{3}, the threshold chosen on the validation slides"));
        QVERIFY2(panel.logText().contains(threshold), qPrintable(panel.logText().right(3000)));

        const TrainingCharts &charts = *panel.charts();
        checkIterationChart(charts, 1);
        QCOMPARE(charts.epochIteration(), 1); // cleared when iteration 1 began
        QCOMPARE(static_cast<int>(charts.trainLossPoints().size()), 4);
        QCOMPARE(static_cast<int>(charts.validationAucByEpochPoints().size()), 4);
        QCOMPARE(charts.trainLossPoints().front().x(), 1.0);
        // Iteration 1's two fine-tuning epochs fill (0, 1]; the agreement is a rate.
        const std::vector<QPointF> fineTuning = charts.fineTuningAgreementPoints();
        QCOMPARE(fineTuning.size(), std::size_t{2});
        QCOMPARE(fineTuning[0].x(), 0.5);
        QCOMPARE(fineTuning[1].x(), 1.0);
        QVERIFY(fineTuning[1].y() >= 0.0 && fineTuning[1].y() <= 1.0);
        QCOMPARE(charts.fineTuningLossPoints().size(), std::size_t{2});
        // The table: a row per iteration, with localisation (the slides have tumour masks).
        QCOMPARE(charts.table()->rowCount(), 2);
        QVERIFY(charts.table()->showsLocalisation());
        for (const QList<QVariant> &signal : iterations) {
            const auto r = signal.at(0).value<IterationResult>();
            QVERIFY2(r.hasLocalisation() && r.localisedSlides > 0 && r.patchAuc >= 0.0 && r.patchAuc <= 1.0,
                     qPrintable(
                         QStringLiteral("iteration %1: %2 slides, patch AUC %3").arg(r.iteration).arg(r.localisedSlides).arg(r.patchAuc)));
            QVERIFY(r.topFraction >= 0.0 && r.topFraction <= r.topFractionCeiling + 1e-9);
            QVERIFY(!r.hasFolds());
        }
        QCOMPARE(charts.table()->text(0, IterationTable::PatchAuc),
                 IterationTable::figure(iterations.at(0).at(0).value<IterationResult>().patchAuc));
        // ROC of the best iteration by validation AUC: from (0, 0) to (1, 1), its AUC the test AUC.
        QCOMPARE(QStringLiteral("icmil-it%1").arg(charts.rocIteration()), best);
        const std::vector<QPointF> roc = charts.rocPoints();
        QVERIFY(roc.size() >= 3);
        QCOMPARE(roc.front(), QPointF(0.0, 0.0));
        QCOMPARE(roc.back(), QPointF(1.0, 1.0));
        const double testAuc = charts.testAucPoints()[static_cast<std::size_t>(charts.rocIteration())].y();
        QVERIFY2(std::abs(charts.rocAuc() - testAuc) < 1e-9, qPrintable(QStringLiteral("%1 vs %2").arg(charts.rocAuc()).arg(testAuc)));

        // Charts save as PNG; the finished loop is not resumable until more iterations are asked.
        const QString png = QString::fromStdString((m_dir / "auc.png").string());
        QVERIFY(charts.savePng(TrainingCharts::Chart::IterationAuc, png, 640, 400));
        QVERIFY(QImage(png).size() == QSize(640, 400));
        QVERIFY(panel.grab().save(QString::fromStdString((m_dir / "panel.png").string()))); // for a look by eye
        QTRY_VERIFY(!panel.canResume());
        TrainingSettings more = panel.settings();
        more.iterations = 2;
        panel.setSettings(more);
        QTRY_VERIFY(panel.canResume());
    }

    void reopeningAProjectShowsItsSavedLoopAndResumesIt()
    {
        // The app opened again on the project above: the form starts at the defaults, then shows
        // the saved loop's settings, and Resume continues the loop instead of refusing it.
        TrainingPanel panel;
        panel.worker()->setDurationEstimator([](const project::IcmilLoopConfig &) { return project::LoopDurationEstimate{}; });
        panel.setConfirmation([](const QString &) { return true; });
        const fs::path root = m_dir / "full";
        QVERIFY(panel.setProject(QString::fromStdString(root.string())));
        TrainingSettings s = panel.settings(); // as ProjectWorkspace sets them: the project's slides
        s.slides = m_dataset;
        s.device = "cpu";
        panel.setSettings(s);
        QTRY_VERIFY_WITH_TIMEOUT(panel.logText().contains(QStringLiteral("Loaded the settings of the saved loop 'icmil'")), 10000);
        QVERIFY2(!panel.logText().contains(QStringLiteral("except")), qPrintable(panel.logText()));
        const TrainingSettings shown = panel.settings();
        QCOMPARE(shown.epochs, 4);
        QCOMPARE(shown.learningRate, 1e-3);
        QCOMPARE(shown.fineTuneEpochs, 2);
        QCOMPARE(shown.fineTunePatches, std::int64_t{48});
        QCOMPARE(shown.fineTuneLearningRate, 1e-4);
        QCOMPARE(shown.tissuePreset, std::string("bwh_biopsy"));
        QCOMPARE(shown.magnification, 0.0);
        QCOMPARE(panel.findChild<QComboBox *>(QStringLiteral("tissuePreset"))->currentText(), QStringLiteral("bwh_biopsy"));
        QCOMPARE(shown.iterations, 2); // the form's, not fewer than the loop has done
        const project::LoopState saved = project::readLoopState(root / "icmil" / "icmil" / "state.json");
        const std::vector<std::string> changes
            = project::loopSettingsChanges(saved.settings, project::loopSettingsJson(panel.loopConfig()));
        QVERIFY2(changes.empty(), changes.empty() ? "" : changes.front().c_str());

        QTRY_VERIFY(panel.canResume());
        QSignalSpy finished(&panel, &TrainingPanel::runFinished);
        QSignalSpy failed(&panel, &TrainingPanel::runFailed);
        panel.resume();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 1, 120000);
        QVERIFY2(finished.count() == 1, qPrintable(failed.isEmpty() ? QString() : failed.at(0).at(0).toString()));
        QCOMPARE(project::readLoopState(root / "icmil" / "icmil" / "state.json").iterations.size(), std::size_t{3});

        // "Start over and delete its results": the project's table hears of it as soon as the old
        // runs are gone, not when (or if) the new run finishes.
        QVERIFY(fs::exists(root / "runs" / "icmil-it2"));
        QSignalSpy changed(&panel, &TrainingPanel::projectOutputsChanged);
        QSignalSpy cancelled(&panel, &TrainingPanel::runCancelled);
        bool runsGone = false;
        connect(&panel, &TrainingPanel::projectOutputsChanged, &panel, [&] {
            if (changed.count() == 1) { // the first: the loop has deleted them before its first phase
                runsGone = !fs::exists(root / "runs" / "icmil-it0") && !fs::exists(root / "runs" / "icmil-it2");
                panel.stop();
            }
        });
        panel.train();
        QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 60000);
        QVERIFY(changed.count() >= 1);
        QVERIFY(runsGone);
    }

    void stopEndsTheRunWithinASecondAndResumeCompletesIt()
    {
        TrainingPanel panel;
        configure(panel, "stopped");
        QSignalSpy finished(&panel, &TrainingPanel::runFinished);
        QSignalSpy cancelled(&panel, &TrainingPanel::runCancelled);
        QSignalSpy failed(&panel, &TrainingPanel::runFailed);
        QElapsedTimer stopClock;
        qint64 stopMs = -1;
        // Stop in the middle of iteration 1's fine-tuning.
        connect(panel.worker(), &TrainingWorker::progressChanged, &panel, [&](const TrainingProgress &p) {
            if (p.iteration == 1 && p.phase == QLatin1String("fine-tuning") && !stopClock.isValid()) {
                stopClock.start();
                panel.stop();
            }
        });
        connect(&panel, &TrainingPanel::runCancelled, &panel, [&] { stopMs = stopClock.elapsed(); });
        TickMonitor ticks;
        panel.train();
        QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 120000);
        qInfo("Stop to cancelled: %lld ms (GUI's longest stall %lld ms)", stopMs, ticks.maxGapMs());
        QVERIFY2(stopMs >= 0 && stopMs < 1000, qPrintable(QString::number(stopMs)));
        QCOMPARE(failed.count(), 0);
        QCOMPARE(finished.count(), 0);
        QVERIFY(!panel.isRunning());
        QCOMPARE(panel.progressText(), QStringLiteral("Stopped"));
        QVERIFY(panel.logText().contains(QStringLiteral("Stopped (in")));
        checkIterationChart(*panel.charts(), 0);
        QTRY_VERIFY(panel.canResume());
        QVERIFY(button(panel, QStringLiteral("Resume"))->isEnabled());

        QElapsedTimer resumeClock;
        resumeClock.start();
        QTest::mouseClick(button(panel, QStringLiteral("Resume")), Qt::LeftButton);
        QVERIFY(panel.isRunning());
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        qInfo("resumed run finished in %lld ms", resumeClock.elapsed());
        QCOMPARE(failed.count(), 0);
        QVERIFY(panel.logText().contains(QStringLiteral("Resuming the ICMIL loop 'icmil' at iteration 1, phase finetune")));
        checkIterationChart(*panel.charts(), 1);
        QTRY_VERIFY(!panel.canResume());
    }

    void aStopInTheFirstPhaseCanBeResumed()
    {
        // Stopped before any phase finished (calibrating, or extracting iteration 0's features):
        // the log says Resume continues, so Resume must be there.
        TrainingPanel panel;
        configure(panel, "first-phase");
        TrainingSettings s = panel.settings();
        s.iterations = 0;
        panel.setSettings(s);
        QSignalSpy cancelled(&panel, &TrainingPanel::runCancelled);
        QSignalSpy finished(&panel, &TrainingPanel::runFinished);
        QString stoppedIn;
        connect(panel.worker(), &TrainingWorker::progressChanged, &panel, [&](const TrainingProgress &p) {
            if (p.iteration == 0 && stoppedIn.isEmpty()) {
                stoppedIn = p.phase;
                panel.stop();
            }
        });
        panel.train();
        QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 60000);
        qInfo("stopped while %s", qPrintable(stoppedIn));
        QTRY_VERIFY(panel.canResume());
        QVERIFY(button(panel, QStringLiteral("Resume"))->isEnabled());
        panel.resume();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
    }

    void missingWeightsFailIntoTheLog()
    {
        TrainingPanel panel;
        configure(panel, "bad");
        TrainingSettings s = panel.settings();
        s.embedderWeights = m_dir / "no-such-weights.pth";
        panel.setSettings(s);
        QSignalSpy failed(&panel, &TrainingPanel::runFailed);
        QSignalSpy cancelled(&panel, &TrainingPanel::runCancelled);
        TickMonitor ticks;
        panel.train();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        const QString message = failed.at(0).at(0).toString();
        qInfo("failed: %s", qPrintable(message));
        QCOMPARE(
            message,
            QStringLiteral("Weights '%1' for tiny-cnn not found").arg(QString::fromStdString((m_dir / "no-such-weights.pth").string())));
        QVERIFY(panel.logText().contains(QStringLiteral("Training failed: ") + message));
        QVERIFY(panel.progressText().startsWith(QStringLiteral("Failed: ")));
        QCOMPARE(cancelled.count(), 0);
        QVERIFY(!panel.isRunning());
        QVERIFY(button(panel, QStringLiteral("Train"))->isEnabled());
        const int before = ticks.ticks();
        QTest::qWait(100); // the application still runs
        QVERIFY(ticks.ticks() > before);
    }

    void theButtonsStayInViewAndTheLogFollowsItsNewestLine()
    {
        // A short dock (a laptop screen): the form scrolls, the buttons and the state stay above it.
        TrainingPanel panel;
        configure(panel, "short");
        panel.resize(900, 420);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        // Nothing (the charts) asks for more height than the dock has: the log is in view too.
        QVERIFY2(panel.minimumSizeHint().height() <= 420, qPrintable(QString::number(panel.minimumSizeHint().height())));
        QCOMPARE(panel.height(), 420);
        for (const QString &name : {QStringLiteral("Train"), QStringLiteral("Stop"), QStringLiteral("Resume")}) {
            const QPushButton *b = button(panel, name);
            QVERIFY2(b->mapTo(&panel, QPoint(0, b->height())).y() <= panel.height(), qPrintable(name));
        }
        // Runs that fail at once write a few lines each: the log shows the newest.
        TrainingSettings s = panel.settings();
        s.embedderWeights = m_dir / "no-such-weights.pth";
        panel.setSettings(s);
        const auto *log = panel.findChild<QPlainTextEdit *>();
        QVERIFY(log != nullptr);
        QSignalSpy failed(&panel, &TrainingPanel::runFailed);
        for (int run = 1; run <= 8; ++run) {
            panel.train();
            QTRY_COMPARE_WITH_TIMEOUT(failed.count(), run, 60000);
        }
        QVERIFY(log->mapTo(&panel, QPoint(0, log->height())).y() <= panel.height());
        QVERIFY(log->height() >= 80); // several lines, not a sliver
        QTRY_VERIFY(log->verticalScrollBar()->maximum() > 0);
        QTRY_COMPARE(log->verticalScrollBar()->value(), log->verticalScrollBar()->maximum());
    }

    void aWheelOverAFieldNotClickedScrollsInsteadOfChangingIt()
    {
        // The form scrolls in the dock: turning the wheel over a combo box or spin box the user
        // has not clicked must not change it (it changed the embedder under a scrolling mouse).
        TrainingPanel panel;
        panel.resize(900, 400);
        panel.show();
        QVERIFY(QTest::qWaitForWindowExposed(&panel));
        auto *preset = panel.findChild<QComboBox *>(QStringLiteral("tissuePreset"));
        auto *embedder = panel.findChild<QComboBox *>(QStringLiteral("embedder"));
        QVERIFY(preset != nullptr);
        QVERIFY(!preset->hasFocus());
        const int before = preset->currentIndex();
        const QString embedderBefore = embedder ? embedder->currentText() : QString();
        for (const int delta : {-120, 120, -120}) {
            QWheelEvent wheel(QPointF(5, 5), preset->mapToGlobal(QPointF(5, 5)), QPoint(), QPoint(0, delta), Qt::NoButton, Qt::NoModifier,
                              Qt::NoScrollPhase, false);
            QCoreApplication::sendEvent(preset, &wheel);
            if (embedder) {
                QWheelEvent overEmbedder(QPointF(5, 5), embedder->mapToGlobal(QPointF(5, 5)), QPoint(), QPoint(0, delta), Qt::NoButton,
                                         Qt::NoModifier, Qt::NoScrollPhase, false);
                QCoreApplication::sendEvent(embedder, &overEmbedder);
            }
        }
        QCOMPARE(preset->currentIndex(), before);
        if (embedder)
            QCOMPARE(embedder->currentText(), embedderBefore);
        // Clicked (focused), the field takes the wheel as before.
        preset->setFocus();
        if (preset->hasFocus()) {
            QWheelEvent wheel(QPointF(5, 5), preset->mapToGlobal(QPointF(5, 5)), QPoint(), QPoint(0, -120), Qt::NoButton, Qt::NoModifier,
                              Qt::NoScrollPhase, false);
            QCoreApplication::sendEvent(preset, &wheel);
            QVERIFY(preset->currentIndex() != before);
        }
    }

    void tissueSettingsThatKeepNothingSayWhatToChange()
    {
        // Settings that keep no tissue (the default preset with a minimum tissue area larger than
        // the slides, as a command line can set it): the failure says why and what to change, the
        // user changes the Tissue preset in the form, and Train then works.
        TrainingPanel panel;
        configure(panel, "tissue");
        project::IcmilLoopConfig base = panel.loopConfig();
        base.extraction.tiling.tissue = slide::TissueDetectionParams::preset("default");
        base.extraction.tiling.tissue.minTissueAreaMm2 = 1000.0;
        base.extraction.tiling.tissue.maxAreaFraction = 1.0;
        panel.setBaseConfig(base);
        TrainingSettings s = panel.settings();
        s.iterations = 0;
        s.tissuePreset = "default";
        panel.setSettings(s);
        auto *preset = panel.findChild<QComboBox *>(QStringLiteral("tissuePreset"));
        QVERIFY(preset != nullptr);
        QCOMPARE(preset->currentText(), QStringLiteral("default"));
        QCOMPARE(panel.loopConfig().extraction.tiling.tissue.presetName, std::string("default"));
        QCOMPARE(panel.loopConfig().extraction.tiling.tissue.minTissueAreaMm2, 1000.0);
        QSignalSpy failed(&panel, &TrainingPanel::runFailed);
        QSignalSpy finished(&panel, &TrainingPanel::runFinished);
        panel.train();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 60000);
        const QString message = failed.at(0).at(0).toString();
        QVERIFY2(message.contains(QStringLiteral("tissue detection (preset default): "))
                     && message.contains(QStringLiteral("but no piece of it is larger than the minimum tissue area of")),
                 qPrintable(message));
        QVERIFY2(message.contains(QStringLiteral("Tissue preset in the app's Training dock")), qPrintable(message));
        // The message, several sentences long, wraps instead of widening the panel's left side.
        auto *phase = panel.findChild<QLabel *>(QStringLiteral("phase"));
        QVERIFY(phase->text().contains(message));
        QVERIFY2(phase->fontMetrics().horizontalAdvance(phase->text()) > 1500, "the test needs a long message");
        QVERIFY2(phase->parentWidget()->minimumSizeHint().width() < 700,
                 qPrintable(QString::number(phase->parentWidget()->minimumSizeHint().width())));

        preset->setCurrentText(QStringLiteral("bwh_biopsy"));
        QCOMPARE(panel.loopConfig().extraction.tiling.tissue.presetName, std::string("bwh_biopsy"));
        panel.train(); // the saved loop has other settings: Train starts it over (confirmed)
        QTRY_COMPARE_WITH_TIMEOUT(finished.count() + failed.count(), 2, 120000);
        QVERIFY2(finished.count() == 1, qPrintable(failed.count() > 1 ? failed.at(1).at(0).toString() : QString()));

        // Another project: none of this project's log or failure is shown there.
        QVERIFY(panel.logText().contains(QStringLiteral("Training failed")));
        QVERIFY(panel.setProject(QString::fromStdString((m_dir / "another").string())));
        QVERIFY(panel.logText().isEmpty());
        QCOMPARE(panel.progressText(), QStringLiteral("Idle"));
    }

    void closingAsksAndStops()
    {
        TrainingPanel panel;
        configure(panel, "closing");
        QString asked;
        bool answer = false;
        panel.setConfirmation([&](const QString &question) {
            asked = question;
            return answer;
        });
        QVERIFY(panel.confirmStopOnClose()); // idle: no question
        QVERIFY(asked.isEmpty());
        QSignalSpy progress(panel.worker(), &TrainingWorker::progressChanged);
        QSignalSpy cancelled(&panel, &TrainingPanel::runCancelled);
        panel.train();
        QVERIFY(panel.isRunning());
        QTRY_VERIFY_WITH_TIMEOUT(progress.count() > 0, 60000); // under way, not just queued
        QVERIFY(!panel.confirmStopOnClose());                  // "no": keep running
        QCOMPARE(asked, QStringLiteral("A training run is in progress. Stop it and close?"));
        QVERIFY(panel.isRunning());
        answer = true;
        QElapsedTimer clock;
        clock.start();
        QVERIFY(panel.confirmStopOnClose(5000));
        qInfo("close: stopped and waited %lld ms", clock.elapsed());
        QVERIFY(clock.elapsed() < 1000);
        QVERIFY(!panel.worker()->isRunning());
        QTRY_COMPARE(cancelled.count(), 1); // the queued end still reaches the panel
        QVERIFY(!panel.isRunning());
    }
};

QTEST_MAIN(TstTrainingPanel)
#include "tst_trainingpanel.moc"
