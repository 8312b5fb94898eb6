// SPDX-License-Identifier: GPL-3.0-or-later
// The training dock's figures from hand-made values, no training: the iteration table's rows and
// numbers (mean ± sd for a folds run, localisation columns only with ground truth), error bars on
// the AUC chart exactly when an sd is given, the fine-tuning chart's points (iteration k's epochs
// in (k-1, k], a repeated epoch replacing the later ones), and the panel's duration estimate from
// a fake estimator: the text, the warning over an hour on a CPU naming what to reduce, none on
// CUDA, and device-sized defaults that follow the device without touching typed fields.

#include "common/slidetestsupport.h"

#include "project/demorecipe.h"
#include "project/backend/torchbackend.h"
#include "ui/training/durationestimateview.h"
#include "ui/training/iterationtable.h"
#include "ui/training/qcustomplotinclude.h"
#include "ui/training/trainingcharts.h"
#include "ui/training/trainingpanel.h"
#include "ui/training/trainingsettingsform.h"
#include "ui/training/trainingworker.h"

#include <QComboBox>
#include <QImage>
#include <QPushButton>
#include <QSpinBox>
#include <QtTest>

#include <atomic>
#include <cstring>
#include <filesystem>

using namespace icmil;
using namespace icmil::ui;
namespace fs = std::filesystem;

namespace {

IterationResult iteration(int k, double valAuc, double testAuc, double valAcc, double testAcc)
{
    IterationResult r;
    r.iteration = k;
    r.encoder = r.runName = QStringLiteral("icmil-it%1").arg(k);
    r.valAuc = valAuc;
    r.testAuc = testAuc;
    r.valAccuracy = valAcc;
    r.testAccuracy = testAcc;
    return r;
}

IterationResult withFolds(IterationResult r, double valSd, double testSd)
{
    r.folds = 5;
    r.valAucSd = valSd;
    r.testAucSd = testSd;
    r.valAccuracySd = 0.05;
    r.testAccuracySd = 0.06;
    return r;
}

// A fixed estimate: `minutes` in all, mostly fine-tuning.
project::LoopDurationEstimate fakeEstimate(double minutes)
{
    project::LoopDurationEstimate e;
    e.workload.slides = 40;
    e.patches = 120000;
    e.fineTuningSeconds = minutes * 60.0 * 0.7;
    e.extractionSeconds = minutes * 60.0 * 0.2;
    e.trainingSeconds = minutes * 60.0 * 0.1;
    e.totalSeconds = minutes * 60.0;
    e.patchSource = "a test";
    return e;
}

} // namespace

class TstTrainingCharts : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;

    // A panel on an empty project folder whose estimates come from `minutes` (on the worker thread).
    void prepare(TrainingPanel &panel, std::atomic<double> &minutes, std::atomic_int &calls, const std::string &device)
    {
        panel.worker()->setDurationEstimator([&minutes, &calls](const project::IcmilLoopConfig &) {
            ++calls;
            return fakeEstimate(minutes);
        });
        TrainingSettings s = panel.settings();
        s.projectRoot = m_dir / "project";
        s.device = device;
        panel.setSettings(s);
    }

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_trainingcharts");
        fs::create_directories(m_dir / "project");
    }

    // Every function but the first runs as after a first training run: LibTorch loaded, so the
    // panel estimates by itself (the first function checks the panel before LibTorch is loaded).
    void init()
    {
        if (std::strcmp(QTest::currentTestFunction(), "estimatesOnlyWhenAskedUntilLibTorchIsLoaded") != 0)
            project::torchBackend();
    }

    void estimatesOnlyWhenAskedUntilLibTorchIsLoaded()
    {
        QVERIFY2(!project::torchBackendLoaded(), "this function must run first, before anything loads LibTorch");
        std::atomic<double> minutes{30.0};
        std::atomic_int calls{0};
        TrainingPanel panel;
        const DurationEstimateView &view = *panel.durationEstimate();
        prepare(panel, minutes, calls, "cpu");
        QCOMPARE(view.estimateText(), QStringLiteral("Estimated duration: not measured yet"));
        QVERIFY(!view.estimateButton()->isHidden());
        QTest::qWait(3 * TrainingPanel::kEstimateDelayMs); // no probe starts by itself
        QCOMPARE(calls.load(), 0);
        QVERIFY(!project::torchBackendLoaded());

        view.estimateButton()->click(); // the probe loads LibTorch
        QTRY_COMPARE(view.estimateText(), QStringLiteral("Estimated duration: about 30 min on cpu"));
        QVERIFY(calls.load() >= 1); // the first answer names the device's kind, which may ask again
        QVERIFY(project::torchBackendLoaded());
        QVERIFY(view.estimateButton()->isHidden());
        QTest::qWait(3 * TrainingPanel::kEstimateDelayMs);

        // From now on a change is estimated by itself, as before.
        const int before = calls;
        minutes = 12.0;
        panel.form()->findChild<QSpinBox *>(QStringLiteral("fineTunePatches"))->setValue(4000);
        QTRY_COMPARE(view.estimateText(), QStringLiteral("Estimated duration: about 12 min on cpu"));
        QCOMPARE(calls.load(), before + 1);
    }

    void tableListsEachIteration()
    {
        TrainingCharts charts;
        const IterationTable &table = *charts.table();
        QCOMPARE(table.rowCount(), 0);
        IterationResult first = iteration(0, 0.8, 0.75, 0.7, 0.65);
        IterationResult second = iteration(1, 0.9, kUndefined, 0.85, 0.8);
        charts.setIterations({second, first}); // sorted by iteration
        QCOMPARE(table.rowCount(), 2);
        QCOMPARE(table.text(0, IterationTable::Iteration), QStringLiteral("0"));
        QCOMPARE(table.text(0, IterationTable::ValAuc), QStringLiteral("0.800"));
        QCOMPARE(table.text(0, IterationTable::TestAuc), QStringLiteral("0.750"));
        QCOMPARE(table.text(0, IterationTable::ValAccuracy), QStringLiteral("0.700"));
        QCOMPARE(table.text(0, IterationTable::TestAccuracy), QStringLiteral("0.650"));
        QCOMPARE(table.text(1, IterationTable::TestAuc), QStringLiteral("-"));
        QVERIFY(!table.showsLocalisation()); // no ground truth
        QVERIFY(table.editTriggers() == QAbstractItemView::NoEditTriggers);

        // Ground truth: patch AUC and top-10% with its ceiling; an iteration without stays "-".
        second.localisedSlides = 4;
        second.patchAuc = 0.91;
        second.topFraction = 0.625;
        second.topFractionCeiling = 0.8;
        charts.setIteration(second);
        QVERIFY(table.showsLocalisation());
        QCOMPARE(table.text(1, IterationTable::PatchAuc), QStringLiteral("0.910"));
        QCOMPARE(table.text(1, IterationTable::TopFraction), QStringLiteral("0.625 (of 0.800)"));
        QCOMPARE(table.text(0, IterationTable::PatchAuc), QStringLiteral("-"));

        // A folds run: mean ± sd everywhere it is given.
        charts.setIterations({withFolds(first, 0.04, 0.03)});
        QCOMPARE(table.rowCount(), 1);
        QCOMPARE(table.text(0, IterationTable::Iteration), QStringLiteral("0 (5 folds)"));
        QCOMPARE(table.text(0, IterationTable::ValAuc), QStringLiteral("0.800 ± 0.040"));
        QCOMPARE(table.text(0, IterationTable::TestAuc), QStringLiteral("0.750 ± 0.030"));
        QCOMPARE(table.text(0, IterationTable::ValAccuracy), QStringLiteral("0.700 ± 0.050"));
        QCOMPARE(table.text(0, IterationTable::TestAccuracy), QStringLiteral("0.650 ± 0.060"));
        QVERIFY(!table.showsLocalisation());
        charts.clear();
        QCOMPARE(table.rowCount(), 0);
    }

    void errorBarsExactlyWhenSdIsGiven()
    {
        TrainingCharts charts;
        charts.setIterations({iteration(0, 0.8, 0.75, 0.7, 0.7), iteration(1, 0.85, 0.8, 0.7, 0.7)});
        QVERIFY(!charts.hasErrorBars());
        QVERIFY(charts.validationAucErrors().empty());
        QVERIFY(charts.testAucErrors().empty());

        IterationResult sdWithoutFolds = iteration(2, 0.9, 0.85, 0.7, 0.7);
        sdWithoutFolds.valAucSd = 0.1; // folds 0: not a folds run, the sd is not read
        charts.setIteration(sdWithoutFolds);
        QVERIFY(!charts.hasErrorBars());

        charts.setIterations({withFolds(iteration(0, 0.8, 0.75, 0.7, 0.7), 0.04, 0.03), iteration(1, 0.85, 0.8, 0.7, 0.7),
                              withFolds(iteration(2, 0.9, 0.85, 0.7, 0.7), 0.02, kUndefined)});
        QVERIFY(charts.hasErrorBars());
        QCOMPARE(charts.validationAucErrors(), (std::vector<QPointF>{{0.0, 0.04}, {2.0, 0.02}}));
        QCOMPARE(charts.testAucErrors(), (std::vector<QPointF>{{0.0, 0.03}}));
        QCOMPARE(charts.validationAucPoints().size(), std::size_t{3}); // the means are the points
        const QString png = QString::fromStdString((m_dir / "auc-folds.png").string());
        QVERIFY(charts.savePng(TrainingCharts::Chart::IterationAuc, png, 480, 320));

        charts.setIterations({iteration(0, 0.8, 0.75, 0.7, 0.7)});
        QVERIFY(!charts.hasErrorBars());
    }

    void attentionLineOnlyWithGroundTruth()
    {
        // The third line: the attention's patch AUC against tumour ground truth, for the
        // iterations that have it, with its sd over folds; absent (and out of the legend) without.
        TrainingCharts charts;
        charts.setIterations({iteration(0, 0.8, 0.75, 0.7, 0.7), iteration(1, 0.85, 0.8, 0.7, 0.7)});
        QVERIFY(charts.patchAucPoints().empty());
        const int withoutLegend = charts.plot(TrainingCharts::Chart::IterationAuc)->legend->itemCount();
        IterationResult first = withFolds(iteration(0, 0.8, 0.75, 0.7, 0.7), 0.04, 0.03);
        first.localisedSlides = 12;
        first.patchAuc = 0.55;
        first.patchAucSd = 0.1;
        IterationResult second = withFolds(iteration(1, 0.85, 0.8, 0.7, 0.7), 0.04, 0.03);
        second.localisedSlides = 12;
        second.patchAuc = 0.7;
        second.patchAucSd = 0.05;
        charts.setIterations({first, second, iteration(2, 0.9, 0.85, 0.7, 0.7)});
        QCOMPARE(charts.patchAucPoints(), (std::vector<QPointF>{{0.0, 0.55}, {1.0, 0.7}}));
        QCOMPARE(charts.patchAucErrors(), (std::vector<QPointF>{{0.0, 0.1}, {1.0, 0.05}}));
        QCOMPARE(charts.plot(TrainingCharts::Chart::IterationAuc)->legend->itemCount(), withoutLegend + 1);
        charts.setIterations({iteration(0, 0.8, 0.75, 0.7, 0.7)});
        QVERIFY(charts.patchAucPoints().empty());
        QCOMPARE(charts.plot(TrainingCharts::Chart::IterationAuc)->legend->itemCount(), withoutLegend);
    }

    void fineTuningChartPlacesEpochsBeforeTheirIteration()
    {
        TrainingCharts charts;
        QVERIFY(charts.fineTuningLossPoints().empty());
        // Iteration 1: two epochs; iteration 2: one of two so far.
        charts.addFineTuningEpoch({1, 0, 2, 0.5, 0.1, 0.9, 100.0, true});
        charts.addFineTuningEpoch({1, 1, 2, 0.25, 0.05, 0.95, 100.0, true});
        charts.addFineTuningEpoch({2, 0, 2, 0.2, 0.04, 0.97, 100.0, true});
        QCOMPARE(charts.fineTuningLossPoints(), (std::vector<QPointF>{{0.5, 0.5}, {1.0, 0.25}, {1.5, 0.2}}));
        QCOMPARE(charts.fineTuningAgreementPoints(), (std::vector<QPointF>{{0.5, 0.9}, {1.0, 0.95}, {1.5, 0.97}}));
        // Iteration 1's fine-tuning again (a resumed run starts it over): its later epochs go.
        charts.addFineTuningEpoch({1, 0, 2, 0.4, 0.1, 0.8, 100.0, true});
        QCOMPARE(charts.fineTuningLossPoints(), (std::vector<QPointF>{{0.5, 0.4}, {1.5, 0.2}}));
        // Saved iterations (setIterations) keep the epochs; clear() empties them.
        charts.setIterations({iteration(0, 0.8, 0.75, 0.7, 0.7)});
        QCOMPARE(charts.fineTuningLossPoints().size(), std::size_t{2});
        const QString png = QString::fromStdString((m_dir / "finetuning.png").string());
        QVERIFY(charts.savePng(TrainingCharts::Chart::FineTuning, png, 480, 320));
        QCOMPARE(QImage(png).size(), QSize(480, 320));
        charts.clear();
        QVERIFY(charts.fineTuningLossPoints().empty());
        QVERIFY(charts.fineTuningAgreementPoints().empty());
    }

    void panelShowsTheEstimateAndWarnsOnALongCpuRun()
    {
        std::atomic<double> minutes{30.0}; // before the panel: its worker reads them until it ends
        std::atomic_int calls{0};
        TrainingPanel panel;
        const DurationEstimateView &view = *panel.durationEstimate();
        QVERIFY(view.estimateText().contains(QStringLiteral("no project")));
        prepare(panel, minutes, calls, "cpu");
        QCOMPARE(view.estimateText(), QStringLiteral("Estimating the duration…")); // debounced
        QTRY_COMPARE(view.estimateText(), QStringLiteral("Estimated duration: about 30 min on cpu"));
        QVERIFY(!view.isWarningShown());
        QVERIFY(view.detailText().contains(QStringLiteral("fine-tuning about 21 min")));
        QVERIFY(view.detailText().contains(QStringLiteral("40 slides, 120000 patches")));

        // Five hours: a warning naming fine-tuning first (the longest phase).
        minutes = 300.0;
        const int before = calls;
        panel.form()->findChild<QSpinBox *>(QStringLiteral("fineTunePatches"))->setValue(5000);
        QTRY_COMPARE(view.estimateText(), QStringLiteral("Estimated duration: about 5.0 h on cpu"));
        QCOMPARE(calls.load(), before + 1);
        QVERIFY(view.isWarningShown());
        const QString warning = view.warningText();
        QVERIFY2(warning.startsWith(QStringLiteral("This run would take about 5.0 h on a CPU. To shorten it, use fewer patches per "
                                                   "fine-tuning epoch (now 5000)")),
                 qPrintable(warning));
        QVERIFY2(warning.contains(QStringLiteral("fewer ICMIL iterations")), qPrintable(warning)); // extraction, 20%
        QVERIFY2(!warning.contains(QStringLiteral("classifier epochs")), qPrintable(warning));     // 10%: not worth naming
    }

    void noWarningOnCudaAndSettingsChangesAskAgain()
    {
        DurationEstimateInfo info;
        info.device = QStringLiteral("cuda:0");
        info.cpu = false;
        info.estimate = fakeEstimate(300.0);
        QVERIFY(DurationEstimateView::warningFor(info, TrainingSettings{}).isEmpty());
        info.cpu = true;
        QVERIFY(!DurationEstimateView::warningFor(info, TrainingSettings{}).isEmpty());
        info.estimate = fakeEstimate(59.0);
        QVERIFY(DurationEstimateView::warningFor(info, TrainingSettings{}).isEmpty());
        QCOMPARE(DurationEstimateView::approximately(20.0), QStringLiteral("under a minute"));
        QCOMPARE(DurationEstimateView::approximately(89.0 * 60.0), QStringLiteral("about 89 min"));
        QCOMPARE(DurationEstimateView::approximately(3.0 * 3600.0), QStringLiteral("about 3.0 h"));
    }

    void defaultsFollowTheDeviceAndKeepTypedFields()
    {
        std::atomic<double> minutes{10.0};
        std::atomic_int calls{0};
        TrainingPanel panel;
        auto *epochs = panel.form()->findChild<QSpinBox *>(QStringLiteral("epochs"));
        auto *patches = panel.form()->findChild<QSpinBox *>(QStringLiteral("fineTunePatches"));
        auto *embedder = panel.form()->findChild<QComboBox *>(QStringLiteral("embedder"));
        QVERIFY(epochs && patches && embedder);
        QCOMPARE(epochs->value(), TrainingSettings{}.epochs); // `icmil run`'s until the device is known
        epochs->setValue(17);                                 // typed
        prepare(panel, minutes, calls, "cpu");
        // The CPU is known from the first estimate: the untouched fields take the CPU's defaults.
        const DeviceDefaults cpu = TrainingSettings::deviceDefaults(true);
        QTRY_COMPARE(patches->value(), static_cast<int>(cpu.fineTunePatches));
        QCOMPARE(embedder->currentText(), QString::fromStdString(cpu.embedder));
        QCOMPARE(panel.settings().fineTuneEpochs, cpu.fineTuneEpochs);
        QCOMPARE(panel.settings().fineTuneLearningRate, 1e-4);
        QCOMPARE(epochs->value(), 17);
        QTRY_COMPARE(panel.durationEstimate()->estimateText(), QStringLiteral("Estimated duration: about 10 min on cpu"));

        // The button writes the device's defaults, typed fields included.
        auto *button = panel.form()->findChild<QPushButton *>(QStringLiteral("deviceDefaults"));
        QVERIFY(button);
        button->click();
        QCOMPARE(epochs->value(), cpu.epochs);
        // And the CUDA set is the reference's.
        const DeviceDefaults cuda = TrainingSettings::deviceDefaults(false);
        QCOMPARE(cuda.embedder, std::string("resnet50-trunc"));
        QCOMPARE(cuda.fineTuneLearningRate, 1e-5);
        QVERIFY(cuda.epochs > cpu.epochs && cuda.fineTunePatches > cpu.fineTunePatches);
    }

    void demoRecipeKeepsItsSettings()
    {
        std::atomic<double> minutes{12.0};
        std::atomic_int calls{0};
        TrainingPanel panel;
        panel.worker()->setDurationEstimator([&](const project::IcmilLoopConfig &) {
            ++calls;
            return fakeEstimate(minutes);
        });
        // The demo's loop as `icmil demo` runs it: the estimate names the device, nothing follows it.
        project::DemoRecipe recipe;
        recipe.fineTuneEpochs = 5; // = `icmil run`'s default, which would otherwise follow
        recipe.fineTunePatches = 10000;
        project::IcmilLoopConfig base = TrainingSettings::defaultLoopConfig();
        TrainingSettings s = panel.settings();
        s.applyDemoRecipe(recipe, base);
        s.projectRoot = m_dir / "project";
        s.device = "cpu";
        panel.setBaseConfig(base);
        panel.setSettings(s);
        QTRY_COMPARE(panel.durationEstimate()->estimateText(), QStringLiteral("Estimated duration: about 12 min on cpu"));
        QCOMPARE(calls.load(), 1);
        const TrainingSettings now = panel.settings();
        QCOMPARE(now.epochs, recipe.epochs);
        QCOMPARE(now.fineTuneEpochs, 5);
        QCOMPARE(now.fineTunePatches, std::int64_t{10000});
        QVERIFY(!now.followDevice);
        // Another project follows again.
        QVERIFY(panel.setProject(QString::fromStdString((m_dir / "project").string())));
        QVERIFY(panel.settings().followDevice);
    }
};

QTEST_MAIN(TstTrainingCharts)
#include "tst_trainingcharts.moc"
