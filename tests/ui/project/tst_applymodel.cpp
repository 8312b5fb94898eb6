// SPDX-License-Identifier: GPL-3.0-or-later
// File > Apply model to slides: a real model bundle (a tiny loop exported with exportModel)
// applied through the dialog and its worker (the LibTorch module) to two new synthetic slides;
// the output opens as a project with both predictions and a heatmap; Cancel right after the start
// and while extracting is a cancellation, not a failure; a bad bundle is one message and the
// window goes on.
#include "common/slidetestsupport.h"
#include "project/looptestsupport.h"

#include "project/backend/torchbackend.h"
#include "project/dataset/syntheticdataset.h"
#include "project/loop/icmilloop.h"
#include "project/model/modelexport.h"
#include "project/projectcatalog.h"
#include "ui/project/applymodeldialog.h"
#include "ui/project/applymodelworker.h"
#include "ui/project/projectpanel.h"
#include "ui/project/projectworkspace.h"
#include "ui/shell/mainwindow.h"
#include "ui/viewer/heatmaplayer.h"

#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QtTest>

#include <fstream>
#include <map>

using namespace icmil;
using namespace icmil::ui;
namespace fs = std::filesystem;

namespace {

QString qs(const fs::path &path)
{
    return QString::fromStdString(path.string());
}

} // namespace

class TstApplyModel : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    fs::path m_newSlides; // a folder of two slides
    fs::path m_bundle;
    fs::path m_badBundle;

    ApplyModelRequest request(const fs::path &out) const
    {
        ApplyModelRequest r;
        r.bundle = qs(m_bundle);
        r.slides = {qs(m_newSlides)};
        r.outDir = qs(out);
        r.device = QStringLiteral("cpu");
        return r;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ICMIL Studio tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_applymodel"));
        QSettings().clear();
        m_dir = test::scratchDir("tst_applymodel");
        for (const fs::directory_entry &entry : fs::directory_iterator(m_dir))
            fs::remove_all(entry.path());

        // A tiny trained model: iteration 0 of a loop on six synthetic slides, as a bundle.
        project::SyntheticDatasetConfig synth;
        synth.outputDir = m_dir / "dataset";
        synth.slides = 6;
        synth.seed = 31;
        synth.width = 4096;
        synth.height = 3072;
        const project::SyntheticDatasetResult dataset = project::SyntheticDataset(synth).generate();
        std::map<std::string, int> seen;
        std::string labels = "case_id,slide_id,label,split\n";
        for (const project::SyntheticSlideRecord &slide : dataset.slides) {
            const int n = seen[slide.label]++;
            labels += slide.caseId + "," + slide.slideId + "," + slide.label + "," + (n < 2 ? "train" : "val") + "\n";
        }
        std::ofstream(synth.outputDir / "labels.csv", std::ios::binary) << labels;
        project::IcmilLoopConfig loop = test::tinyLoopConfig(m_dir / "project", synth.outputDir, 0);
        loop.trainer.epochs = 3;
        QCOMPARE(project::IcmilLoop(loop).run().iterations.size(), std::size_t{1});
        project::ModelExportConfig exportConfig;
        exportConfig.projectRoot = loop.projectRoot;
        exportConfig.loop = loop.name;
        exportConfig.slides = synth.outputDir;
        exportConfig.out = m_dir / "model.icmil";
        project::exportModel(exportConfig);
        m_bundle = exportConfig.out;

        // Two new slides, in a folder of their own.
        project::SyntheticDatasetConfig fresh = synth;
        fresh.outputDir = m_dir / "new-dataset";
        fresh.slides = 2;
        fresh.seed = 77;
        project::SyntheticDataset(fresh).generate();
        m_newSlides = m_dir / "new";
        fs::create_directories(m_newSlides);
        for (const fs::directory_entry &entry : fs::directory_iterator(fresh.outputDir / "slides"))
            fs::copy_file(entry.path(), m_newSlides / ("new_" + entry.path().filename().string()));

        m_badBundle = m_dir / "not-a-bundle.icmil";
        std::ofstream(m_badBundle, std::ios::binary) << "this is not a zip archive";
    }

    void defaultOutputIsBesideTheSlides()
    {
        QCOMPARE(ApplyModelDialog::defaultOutputFolder(QStringLiteral("/m/tumour.icmil"), {QStringLiteral("/data/slides")}),
                 QStringLiteral("/data/tumour-predictions"));
        QCOMPARE(ApplyModelDialog::defaultOutputFolder(QStringLiteral("/m/tumour.icmil"), {QStringLiteral("/data/slides/")}),
                 QStringLiteral("/data/tumour-predictions"));
        QCOMPARE(ApplyModelDialog::defaultOutputFolder(QStringLiteral("/m/tumour.icmil"), {QStringLiteral("/data/a.svs")}),
                 QStringLiteral("/data/tumour-predictions"));
        QCOMPARE(ApplyModelDialog::defaultOutputFolder(QStringLiteral("/m/tumour.icmil"),
                                                       {QStringLiteral("/data/x/a.tif"), QStringLiteral("/data/x/b.tif")}),
                 QStringLiteral("/data/x/tumour-predictions"));
        QCOMPARE(ApplyModelDialog::defaultOutputFolder(QString(), {QStringLiteral("/data/slides")}),
                 QStringLiteral("/data/model-predictions"));
        QVERIFY(ApplyModelDialog::defaultOutputFolder(QStringLiteral("/m/tumour.icmil"), {}).isEmpty());
    }

    // Before anything loads the module (initTestCase ran the loop with the linked library): a
    // module that cannot be loaded is one sentence, from the bundle read and from a run.
    void libTorchThatCannotLoadIsOneMessage()
    {
        QVERIFY(!project::torchBackendLoaded());
        qputenv("ICMIL_TORCH_MODULE", QByteArray("/nonexistent/libicmil_torch.so"));
        ApplyModelDialog dialog;
        QSignalSpy read(&dialog, &ApplyModelDialog::bundleRead);
        dialog.setSlides({qs(m_newSlides)});
        dialog.setBundle(qs(m_bundle));
        QVERIFY(read.wait(30000));
        const QString error = dialog.bundle().error;
        QVERIFY2(error.startsWith(QStringLiteral("Cannot load LibTorch")) && !error.contains(QLatin1Char('\n')), qPrintable(error));
        QCOMPARE(dialog.statusText(), error);
        QVERIFY(!dialog.canApply());
        ApplyModelWorker worker;
        QSignalSpy failed(&worker, &ApplyModelWorker::failed);
        worker.run(request(m_dir / "no-libtorch"));
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.front().front().toString(), error);
        qunsetenv("ICMIL_TORCH_MODULE");
        QVERIFY(!project::torchBackendLoaded());
    }

    void describesTheBundle()
    {
        ApplyModelDialog dialog;
        QSignalSpy read(&dialog, &ApplyModelDialog::bundleRead);
        dialog.setBundle(qs(m_bundle));
        QVERIFY(dialog.isReadingBundle());
        QVERIFY(read.wait(120000)); // the first read loads LibTorch
        const BundleDescription &bundle = dialog.bundle();
        QVERIFY2(bundle.error.isEmpty(), qPrintable(bundle.error));
        QCOMPARE(bundle.classNames, (QStringList{QStringLiteral("normal"), QStringLiteral("tumor")}));
        QVERIFY2(bundle.embedder.startsWith(QStringLiteral("tiny-cnn")), qPrintable(bundle.embedder));
        QCOMPARE(bundle.classifier, QStringLiteral("abmil"));
        QVERIFY2(bundle.threshold.endsWith(QStringLiteral("on p(tumor)")), qPrintable(bundle.threshold));
        QVERIFY2(bundle.preprocessing.contains(QStringLiteral("256 px patches at level 0")), qPrintable(bundle.preprocessing));
        const QString info = dialog.findChild<QLabel *>(QStringLiteral("bundleInfo"))->text();
        QVERIFY2(info.contains(QStringLiteral("Classes: normal, tumor")), qPrintable(info));
        QVERIFY2(!dialog.canApply(), "no slides chosen yet");
        QCOMPARE(dialog.statusText(), QStringLiteral("Choose the slides: files or a folder."));
        dialog.setSlides({qs(m_newSlides)});
        QVERIFY(dialog.canApply());
        QCOMPARE(dialog.outputFolder(), qs(m_dir / "model-predictions"));
    }

    void badBundleIsOneMessage()
    {
        ApplyModelDialog dialog;
        dialog.setSlides({qs(m_newSlides)});
        QSignalSpy read(&dialog, &ApplyModelDialog::bundleRead);
        dialog.setBundle(qs(m_badBundle));
        QVERIFY(read.wait(120000));
        const QString error = dialog.bundle().error;
        QVERIFY(!error.isEmpty());
        QVERIFY2(error.contains(QStringLiteral("not-a-bundle.icmil")) && !error.contains(QLatin1Char('\n')), qPrintable(error));
        QCOMPARE(dialog.statusText(), error);
        QVERIFY(!dialog.canApply());
        dialog.setBundle(qs(m_dir / "missing.icmil"));
        QVERIFY(read.wait(10000));
        QCOMPARE(dialog.statusText(), QStringLiteral("There is no model bundle at '%1'.").arg(qs(m_dir / "missing.icmil")));

        // The worker, given it anyway: one failed(message), nothing else.
        ApplyModelWorker worker;
        QSignalSpy failed(&worker, &ApplyModelWorker::failed);
        QSignalSpy finished(&worker, &ApplyModelWorker::finished);
        QSignalSpy cancelled(&worker, &ApplyModelWorker::cancelled);
        ApplyModelRequest r = request(m_dir / "bad-out");
        r.bundle = qs(m_badBundle);
        worker.run(r);
        QCOMPARE(failed.count(), 1);
        QCOMPARE(finished.count() + cancelled.count(), 0);
        QVERIFY(!worker.isRunning());
        const QString message = failed.front().front().toString();
        QVERIFY2(message.contains(QStringLiteral("not-a-bundle.icmil")) && !message.contains(QLatin1Char('\n')), qPrintable(message));
    }

    void cancelRightAfterStartIsNotAFailure()
    {
        ApplyModelDialog dialog;
        const fs::path out = m_dir / "cancelled-at-once";
        dialog.setBundle(qs(m_bundle));
        dialog.setSlides({qs(m_newSlides)});
        dialog.setOutputFolder(qs(out));
        dialog.setDevice(QStringLiteral("cpu"));
        QTRY_VERIFY_WITH_TIMEOUT(dialog.canApply(), 120000);
        QSignalSpy cancelled(&dialog, &ApplyModelDialog::applyCancelled);
        QSignalSpy failed(&dialog, &ApplyModelDialog::applyFailed);
        QSignalSpy finished(&dialog, &ApplyModelDialog::applyFinished);
        auto *cancel = dialog.findChild<QPushButton *>(QStringLiteral("cancel"));
        QVERIFY(!cancel->isVisibleTo(&dialog));
        dialog.apply();
        QVERIFY(dialog.isRunning());
        QVERIFY(!dialog.canApply());
        QVERIFY(cancel->isVisibleTo(&dialog) && cancel->isEnabled());
        cancel->click();
        QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 120000);
        QCOMPARE(failed.count() + finished.count(), 0);
        QVERIFY(cancelled.front().front().value<ApplyModelOutcome>().cancelled);
        QVERIFY(!dialog.isRunning());
        QVERIFY2(dialog.summary().startsWith(QStringLiteral("Cancelled after")), qPrintable(dialog.summary()));
        QVERIFY(dialog.statusText().isEmpty());
        QVERIFY(!fs::exists(out / "predictions.csv"));
        QVERIFY(dialog.canApply()); // and it may be applied again
    }

    void cancelWhileExtractingIsNotAFailure()
    {
        QThread thread;
        auto *worker = new ApplyModelWorker;
        worker->moveToNamedThread(&thread);
        QCOMPARE(thread.objectName(), QStringLiteral("icmil-apply-model"));
        QSignalSpy failed(worker, &ApplyModelWorker::failed);
        QSignalSpy finished(worker, &ApplyModelWorker::finished);
        QSignalSpy cancelled(worker, &ApplyModelWorker::cancelled);
        QSignalSpy progress(worker, &ApplyModelWorker::progressChanged);
        // Cancelled from inside the first progress event (on the worker's thread): mid-extraction.
        connect(
            worker, &ApplyModelWorker::progressChanged, worker, [worker] { worker->cancel(); }, Qt::DirectConnection);
        const fs::path out = m_dir / "cancelled-while-extracting";
        QVERIFY(worker->start(request(out)));
        QVERIFY(!worker->start(request(out))); // one run at a time
        QTRY_COMPARE_WITH_TIMEOUT(cancelled.count(), 1, 120000);
        QCOMPARE(failed.count() + finished.count(), 0);
        QVERIFY(progress.count() >= 1);
        QVERIFY(cancelled.front().front().value<ApplyModelOutcome>().cancelled);
        QVERIFY(!fs::exists(out / "predictions.csv"));
        QVERIFY(worker->stopAndWait(10000));
        thread.quit();
        thread.wait();
        delete worker;
    }

    void aSlideThatFailsIsReportedAndTheOthersGoOn()
    {
        const fs::path broken = m_dir / "broken" / "broken.svs";
        fs::create_directories(broken.parent_path());
        std::ofstream(broken, std::ios::binary) << "not a slide";
        fs::path good;
        for (const fs::directory_entry &entry : fs::directory_iterator(m_newSlides))
            good = entry.path();
        ApplyModelDialog dialog;
        dialog.setBundle(qs(m_bundle));
        dialog.setSlides({qs(good), qs(broken)}); // files, not a folder
        dialog.setOutputFolder(qs(m_dir / "with-a-broken-slide"));
        dialog.setDevice(QStringLiteral("cpu"));
        QTRY_VERIFY_WITH_TIMEOUT(dialog.canApply(), 120000);
        QSignalSpy finished(&dialog, &ApplyModelDialog::applyFinished);
        QSignalSpy ready(&dialog, &ApplyModelDialog::projectReady);
        dialog.apply();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
        const auto outcome = finished.front().front().value<ApplyModelOutcome>();
        QCOMPARE(outcome.slides, 2);
        QCOMPARE(outcome.predicted, 1);
        QCOMPARE(outcome.failed.size(), 1);
        QVERIFY2(outcome.failed.front().startsWith(QStringLiteral("broken: ")), qPrintable(outcome.failed.front()));
        const QString summary = dialog.summary();
        QVERIFY2(summary.startsWith(QStringLiteral("Predicted 1 of 2 slides")), qPrintable(summary));
        QVERIFY2(summary.contains(QStringLiteral("1 slide could not be predicted:\n  broken: ")), qPrintable(summary));
        QCOMPARE(ready.count(), 1);
        QCOMPARE(ready.front().at(1).toString(), qs(good));
    }

    void appliesAndOpensTheProject()
    {
        MainWindow window;
        window.show();
        window.showApplyModel();
        ApplyModelDialog *dialog = window.applyModelDialog();
        QVERIFY(dialog != nullptr);
        window.showApplyModel(); // one dialog at a time
        QCOMPARE(window.applyModelDialog(), dialog);

        // A bad bundle first: one message, and the same dialog goes on with a good one.
        QSignalSpy read(dialog, &ApplyModelDialog::bundleRead);
        dialog->setSlides({qs(m_newSlides)});
        dialog->setBundle(qs(m_badBundle));
        QVERIFY(read.wait(120000));
        QVERIFY(!dialog->bundle().error.isEmpty());
        dialog->setBundle(qs(m_bundle));
        dialog->setDevice(QStringLiteral("cpu"));
        QTRY_VERIFY_WITH_TIMEOUT(dialog->canApply(), 120000);
        const fs::path out = m_dir / "model-predictions";
        QCOMPARE(dialog->outputFolder(), qs(out));

        ProjectPanel *panel = window.workspace()->projectPanel();
        QSignalSpy finished(dialog, &ApplyModelDialog::applyFinished);
        QSignalSpy progress(dialog->worker(), &ApplyModelWorker::progressChanged);
        QSignalSpy loaded(panel, &ProjectPanel::projectLoaded);
        QSignalSpy heatmap(window.workspace(), &ProjectWorkspace::heatmapLoaded);
        dialog->apply();
        QVERIFY(dialog->progressBar()->isVisibleTo(dialog));
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 240000);
        const auto outcome = finished.front().front().value<ApplyModelOutcome>();
        QVERIFY2(outcome.failed.isEmpty(), qPrintable(outcome.failed.join(QLatin1Char('\n'))));
        QCOMPARE(outcome.slides, 2);
        QCOMPARE(outcome.predicted, 2);
        QCOMPARE(outcome.extracted, 2);
        QCOMPARE(outcome.device, QStringLiteral("cpu"));
        QVERIFY(progress.count() > 0);
        QCOMPARE(dialog->progressBar()->value(), dialog->progressBar()->maximum());
        QVERIFY2(dialog->summary().startsWith(QStringLiteral("Predicted 2 of 2 slides in ")), qPrintable(dialog->summary()));
        QVERIFY(fs::exists(out / "predictions.csv"));

        // The output folder opens as a project showing run "model", the first slide with its heatmap.
        QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), 30000);
        QCOMPARE(loaded.front().front().toString(), qs(out));
        const project::ProjectCatalog &catalog = panel->catalog();
        QCOMPARE(catalog.predictionRun, std::string("model"));
        QCOMPARE(catalog.slides.size(), std::size_t{2});
        for (const project::CatalogSlide &slide : catalog.slides) {
            QVERIFY2(slide.prediction.has_value(), slide.slideId.c_str());
            QCOMPARE(slide.prediction->probabilities.size(), std::size_t{2});
        }
        QTRY_VERIFY_WITH_TIMEOUT(!heatmap.isEmpty(), 60000);
        QCOMPARE(window.workspace()->shownSlideId(), QString::fromStdString(catalog.slides.front().slideId));
        QVERIFY(window.workspace()->heatmapLayer()->heatmap() != nullptr);

        // Applied again: the features are reused, the same predictions come out.
        QVERIFY(dialog->canApply());
        dialog->apply();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 2, 120000);
        const auto again = finished.back().front().value<ApplyModelOutcome>();
        QCOMPARE(again.predicted, 2);
        QCOMPARE(again.reused, 2);
        dialog->close();

        // In a project with a run better by validation, the bundle's predictions are still the ones shown.
        fs::copy(out / "runs" / "model", out / "runs" / "other", fs::copy_options::recursive);
        std::ofstream(out / "runs" / "other" / "metrics.json", std::ios::binary) << R"({"val": {"auc": 0.9}})";
        loaded.clear();
        window.openProject(qs(out));
        QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty(), 30000);
        QCOMPARE(panel->catalog().predictionsFile, out / "runs" / "other" / "predictions.json");
        window.openPredictions(qs(out), QString());
        QTRY_COMPARE_WITH_TIMEOUT(panel->catalog().predictionsFile, out / "runs" / "model" / "predictions.json", 30000);
        QCOMPARE(panel->catalog().predictionRunChoice, project::ProjectCatalog::RunChoice::Chosen);
    }
};

QTEST_MAIN(TstApplyModel)
#include "tst_applymodel.moc"
