// SPDX-License-Identifier: GPL-3.0-or-later
// The first run, offscreen: the welcome page is shown until a slide or a project opens and its
// buttons ask for the right things; "Try the demo" generates a dataset (a small one here) with
// progress, opens it as a project and shows its first slide; cancelling or a folder that cannot
// be written gives one clear outcome and leaves the app as it was. A project holding the demo
// recipe's dataset trains with the demo's settings.
#include "project/demorecipe.h"
#include "project/dataset/syntheticdataset.h"
#include "slide/tissue/tissuedetectionparams.h"
#include "ui/shell/demoproject.h"
#include "ui/shell/mainwindow.h"
#include "ui/project/projectpanel.h"
#include "ui/project/projectworkspace.h"
#include "ui/training/trainingpanel.h"
#include "ui/viewer/slideviewer.h"
#include "ui/shell/welcomepage.h"

#include "common/slidetestsupport.h"

#include <QMessageBox>
#include <QProgressDialog>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace icmil;

namespace {

constexpr int kTimeoutMs = 60000;

project::SyntheticDatasetConfig smallDataset(const fs::path &dir, int slides = 2)
{
    project::SyntheticDatasetConfig config;
    config.outputDir = dir;
    config.slides = slides;
    config.width = 3000;
    config.height = 2400;
    config.seed = 5;
    return config;
}

// The child named `name` once it exists (nullptr after 5 s).
template <typename T> T *waitForChild(QWidget &parent, const QString &name)
{
    QDeadlineTimer deadline(5000);
    T *child = nullptr;
    while ((child = parent.findChild<T *>(name)) == nullptr && !deadline.hasExpired())
        QTest::qWait(10);
    return child;
}

} // namespace

class TstFirstRun : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase()
    {
        Q_INIT_RESOURCE(resources); // the app's icon, as main() does
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ICMIL Studio tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_firstrun"));
    }

    void init() { QSettings().clear(); }

    void defaultDemoFolderIsInTheUserDataFolder()
    {
        const QString data = QStandardPaths::writableLocation(QStandardPaths::GenericDataLocation);
        QCOMPARE(ui::DemoProjectBuilder::defaultFolder(), data + QStringLiteral("/icmil-studio/demo"));
    }

    void welcomeButtonsAsk()
    {
        ui::WelcomePage page;
        page.show();
        const QList<std::pair<QString, QSignalSpy *>> buttons = {
            {QStringLiteral("openSlideButton"), new QSignalSpy(&page, &ui::WelcomePage::openSlideRequested)},
            {QStringLiteral("newProjectButton"), new QSignalSpy(&page, &ui::WelcomePage::newProjectRequested)},
            {QStringLiteral("demoButton"), new QSignalSpy(&page, &ui::WelcomePage::demoRequested)},
            {QStringLiteral("openProjectButton"), new QSignalSpy(&page, &ui::WelcomePage::openProjectRequested)},
        };
        for (const auto &[name, spy] : buttons) {
            auto *button = page.findChild<QAbstractButton *>(name);
            QVERIFY2(button && button->isVisible(), qPrintable(name));
            QTest::mouseClick(button, Qt::LeftButton);
            QCOMPARE(spy->count(), 1);
            delete spy;
        }
        // The demo button says how many slides the demo makes (the recipe's number, not a copy).
        QVERIFY(page.findChild<QAbstractButton *>(QStringLiteral("demoButton"))
                    ->text()
                    .contains(QStringLiteral("%1 synthetic slide(s)").arg(icmil::project::demoRecipe({}).dataset.slides)));
        auto *reopen = page.findChild<QPushButton *>(QStringLiteral("reopenButton"));
        QVERIFY(!reopen->isVisible()); // no project yet
        page.setLastProject(QStringLiteral("/data/projects/camelyon"));
        QVERIFY(reopen->isVisible());
        QCOMPARE(reopen->text(), QStringLiteral("Reopen camelyon"));
        QSignalSpy reopened(&page, &ui::WelcomePage::reopenRequested);
        QTest::mouseClick(reopen, Qt::LeftButton);
        QCOMPARE(reopened.count(), 1);
        QCOMPARE(reopened.front().front().toString(), QStringLiteral("/data/projects/camelyon"));
    }

    void welcomeShownUntilASlideOpens()
    {
        const fs::path dir = test::scratchDir("tst_firstrun") / "slide";
        const auto dataset = project::SyntheticDataset(smallDataset(dir, 1)).generate();
        ui::MainWindow window;
        window.show();
        QVERIFY(window.isWelcomeShown());
        QVERIFY(window.welcomePage()->isVisible());
        QSignalSpy shown(&window, &ui::MainWindow::slideShown);
        window.openSlide(QString::fromStdString(dataset.slides[0].slidePath.string()));
        QVERIFY(shown.wait(kTimeoutMs));
        QVERIFY(!window.isWelcomeShown());
        QVERIFY(window.viewer()->isVisible());
    }

    void tryDemoGeneratesOpensAndShowsTheFirstSlide()
    {
        const fs::path dir = test::scratchDir("tst_firstrun") / "demo";
        fs::remove_all(dir);
        ui::MainWindow window;
        window.show();
        ui::ProjectWorkspace *workspace = window.workspace();
        QSignalSpy opened(workspace, &ui::ProjectWorkspace::projectOpened);
        QSignalSpy shown(&window, &ui::MainWindow::slideShown);
        workspace->tryDemo(smallDataset(dir));
        auto *progress = waitForChild<QProgressDialog>(window, QStringLiteral("demoProgress"));
        QVERIFY(progress);
        QCOMPARE(progress->maximum(), 2);
        QVERIFY(opened.wait(kTimeoutMs));
        QCOMPARE(opened.front().front().toString(), QDir(QString::fromStdString(dir.string())).absolutePath());
        QVERIFY(fs::exists(dir / "labels.csv"));
        QCOMPARE(workspace->projectPanel()->catalog().slides.size(), std::size_t{2});
        QTRY_VERIFY_WITH_TIMEOUT(shown.count() == 1 || shown.wait(kTimeoutMs), kTimeoutMs);
        QCOMPARE(fs::path(shown.front().front().toString().toStdString()), workspace->projectPanel()->catalog().slides.front().path);
        QVERIFY(!window.isWelcomeShown());
        QTRY_VERIFY(window.findChild<QProgressDialog *>(QStringLiteral("demoProgress")) == nullptr);
        auto *box = waitForChild<QMessageBox>(window, QStringLiteral("demoWelcome"));
        QVERIFY(box);
        QVERIFY(box->text().contains(QStringLiteral("The demo project is open: 2 synthetic slides")));
        QVERIFY(box->text().contains(QStringLiteral("Press Train")));
        QCOMPARE(workspace->lastProject(), QDir(QString::fromStdString(dir.string())).absolutePath());
    }

    void cancelledDemoOpensNothing()
    {
        const fs::path dir = test::scratchDir("tst_firstrun") / "cancelled";
        fs::remove_all(dir);
        ui::MainWindow window;
        window.show();
        ui::ProjectWorkspace *workspace = window.workspace();
        QSignalSpy opened(workspace, &ui::ProjectWorkspace::projectOpened);
        QSignalSpy cancelled(workspace->demoBuilder(), &ui::DemoProjectBuilder::cancelled);
        project::SyntheticDatasetConfig config = smallDataset(dir, 6);
        config.width = 16000;
        config.height = 12000;
        workspace->tryDemo(config);
        auto *progress = waitForChild<QProgressDialog>(window, QStringLiteral("demoProgress"));
        QVERIFY(progress);
        auto *cancel = progress->findChild<QPushButton *>();
        QVERIFY(cancel);
        QCOMPARE(cancel->text(), QStringLiteral("Cancel"));
        QTest::mouseClick(cancel, Qt::LeftButton);
        QVERIFY(cancelled.wait(kTimeoutMs));
        QCOMPARE(opened.count(), 0);
        QVERIFY(window.isWelcomeShown());
        QCOMPARE(window.statusBar()->currentMessage(), QStringLiteral("Demo cancelled"));
        QVERIFY(!fs::exists(dir / "labels.csv"));
        QVERIFY(!fs::exists(dir / "dataset.json"));
        QTRY_VERIFY(window.findChild<QProgressDialog *>(QStringLiteral("demoProgress")) == nullptr);
    }

    void unwritableDemoFolderIsOneError()
    {
        const fs::path scratch = test::scratchDir("tst_firstrun");
        const fs::path file = scratch / "not-a-folder";
        std::ofstream(file) << "x";
        ui::MainWindow window;
        window.show();
        QSignalSpy failed(window.workspace()->demoBuilder(), &ui::DemoProjectBuilder::failed);
        window.workspace()->tryDemo(smallDataset(file / "demo"));
        QVERIFY(failed.wait(kTimeoutMs));
        const QString expected
            = QStringLiteral("Cannot create folder '%1': Not a directory").arg(QString::fromStdString((file / "demo" / "slides").string()));
        QCOMPARE(failed.front().front().toString(), expected);
        QMessageBox *box = nullptr;
        QTRY_VERIFY((box = window.findChild<QMessageBox *>()) != nullptr);
        QCOMPARE(box->windowTitle(), QStringLiteral("Cannot make the demo project"));
        QCOMPARE(box->text(), expected);
        QVERIFY(window.isWelcomeShown());
    }

    void demoDatasetTrainsWithTheDemoSettings()
    {
        // A small dataset whose manifest says it was made with the demo recipe's settings.
        const fs::path dir = test::scratchDir("tst_firstrun") / "recipe";
        fs::remove_all(dir);
        project::SyntheticDataset(smallDataset(dir)).generate();
        const project::DemoRecipe recipe = project::demoRecipe(dir);
        nlohmann::json manifest = nlohmann::json::parse(std::ifstream(dir / "dataset.json"));
        manifest["config"] = {{"slides", recipe.dataset.slides},
                              {"seed", recipe.dataset.seed},
                              {"width", recipe.dataset.width},
                              {"height", recipe.dataset.height},
                              {"positive_fraction", recipe.dataset.positiveFraction},
                              {"preset", slide::presetName(recipe.dataset.preset)}};
        std::ofstream(dir / "dataset.json") << manifest.dump(2);
        QVERIFY(project::isDemoDataset(dir));

        ui::MainWindow window;
        ui::ProjectWorkspace *workspace = window.workspace();
        QSignalSpy opened(workspace, &ui::ProjectWorkspace::projectOpened);
        workspace->openProject(QString::fromStdString(dir.string()));
        QVERIFY(opened.wait(kTimeoutMs));
        QVERIFY(workspace->projectPanel()->catalog().demo);
        const ui::TrainingSettings settings = workspace->trainingPanel()->settings();
        QCOMPARE(settings.iterations, recipe.iterations);
        QCOMPARE(settings.epochs, recipe.epochs);
        QCOMPARE(settings.learningRate, recipe.learningRate);
        QCOMPARE(settings.fineTuneEpochs, recipe.fineTuneEpochs);
        QCOMPARE(settings.fineTunePatches, recipe.fineTunePatches);
        QCOMPARE(fs::path(settings.projectRoot), fs::path(QDir(QString::fromStdString(dir.string())).absolutePath().toStdString()));
        const project::IcmilLoopConfig loop = workspace->trainingPanel()->loopConfig();
        QCOMPARE(loop.split.valFraction, recipe.valFraction);
        QCOMPARE(loop.split.testFraction, recipe.testFraction);
        QCOMPARE(loop.negativeClass, recipe.negativeClass);
        QCOMPARE(settings.negativeClass, std::string("normal"));
        const slide::TissueDetectionParams tissue = slide::TissueDetectionParams::preset(recipe.tissuePreset);
        const slide::TissueDetectionParams &used = loop.extraction.tiling.tissue;
        QCOMPARE(used.saturationThreshold, tissue.saturationThreshold);
        QCOMPARE(used.minTissueAreaMm2, tissue.minTissueAreaMm2);
        QCOMPARE(used.minHoleAreaMm2, tissue.minHoleAreaMm2);
        QCOMPARE(used.closeKernel, tissue.closeKernel);
        QVERIFY(used.minTissueAreaMm2 != slide::TissueDetectionParams::preset("default").minTissueAreaMm2); // the preset matters
        QCOMPARE(loop.trainer.epochs, recipe.epochs);

        // An ordinary project starts from `icmil run`'s settings, then follows the device's
        // defaults once the duration probe has said which device is in use (the demo never does).
        const fs::path plain = test::scratchDir("tst_firstrun") / "plain";
        fs::remove_all(plain);
        project::SyntheticDataset(smallDataset(plain)).generate();
        QVERIFY(!project::isDemoDataset(plain));
        ui::MainWindow other;
        QSignalSpy otherOpened(other.workspace(), &ui::ProjectWorkspace::projectOpened);
        other.workspace()->openProject(QString::fromStdString(plain.string()));
        QVERIFY(otherOpened.wait(kTimeoutMs));
        QVERIFY(!other.workspace()->projectPanel()->catalog().demo);
        const int epochs = other.workspace()->trainingPanel()->settings().epochs;
        QVERIFY2(epochs == ui::TrainingSettings{}.epochs || epochs == ui::TrainingSettings::deviceDefaults(true).epochs,
                 qPrintable(QString::number(epochs)));
        QVERIFY(other.workspace()->trainingPanel()->settings().followDevice);
    }
};

QTEST_MAIN(TstFirstRun)
#include "tst_firstrun.moc"
