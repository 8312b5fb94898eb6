// SPDX-License-Identifier: GPL-3.0-or-later
// ProjectPanel and NewProjectDialog, offscreen: a synthetic project's slides with thumbnails,
// labels and predictions, filtering, sorting, opening a slide, exporting predictions exactly as
// the CLI writes them, and a new project's labels CSV checked row by row.
#include "project/training/predictiontable.h"
#include "project/projectcatalog.h"
#include "project/dataset/syntheticdataset.h"
#include "ui/project/newprojectdialog.h"
#include "ui/project/projectpanel.h"
#include "ui/project/slidetablemodel.h"

#include "common/slidetestsupport.h"

#include <QComboBox>
#include <QLabel>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QtTest>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <tuple>

namespace fs = std::filesystem;
using icmil::ui::NewProjectDialog;
using icmil::ui::ProjectPanel;
using icmil::ui::SlideTableModel;

namespace {

constexpr int kTimeoutMs = 20000;

std::string readAll(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

QString q(const fs::path &path)
{
    return QString::fromStdString(path.string());
}

// The panel's summary line ("4 slide(s), 4 predicted by run ...").
QString summaryOf(const ProjectPanel &panel)
{
    for (const QLabel *label : panel.findChildren<QLabel *>())
        if (label->text().contains(QStringLiteral("slide(s)")))
            return label->text();
    return QString();
}

} // namespace

class TstProjectPanel : public QObject {
    Q_OBJECT
private:
    fs::path m_root;
    icmil::project::PredictionTable m_predictions;

private Q_SLOTS:
    void initTestCase()
    {
        m_root = icmil::test::scratchDir("projectpanel");
        icmil::project::SyntheticDatasetConfig config;
        config.outputDir = m_root;
        config.slides = 4;
        config.width = 3000;
        config.height = 2400;
        config.seed = 5;
        const auto dataset = icmil::project::SyntheticDataset(config).generate();
        // Splits, as a user's CSV would have them.
        std::string csv = "case_id,slide_id,label,split\n";
        const char *splits[] = {"train", "train", "val", "test"};
        for (std::size_t i = 0; i < dataset.slides.size(); ++i) {
            const auto &s = dataset.slides[i];
            csv += s.caseId + "," + s.slideId + "," + s.label + "," + splits[i] + "\n";
        }
        std::ofstream(m_root / "labels.csv") << csv;

        m_predictions.run = "run1";
        m_predictions.encoder = "tiny-cnn";
        m_predictions.classNames = {"normal", "tumor"};
        m_predictions.threshold = 0.7; // chosen on validation, as a run records it
        for (std::size_t i = 0; i < dataset.slides.size(); ++i) {
            icmil::project::SlidePredictionRow row;
            row.slideId = dataset.slides[i].slideId;
            row.caseId = dataset.slides[i].caseId;
            row.label = dataset.slides[i].label;
            row.split = splits[i];
            row.probabilities = {1.0 - 0.2 * static_cast<double>(i + 1), 0.2 * static_cast<double>(i + 1)};
            row.predicted = icmil::project::decideClass(row.probabilities, m_predictions.threshold);
            m_predictions.rows.push_back(row);
        }
        fs::create_directories(m_root / "runs" / "run1");
        icmil::project::writePredictionsJson(m_root / "runs" / "run1" / "predictions.json", m_predictions);
    }

    void showsTheProjectsSlides()
    {
        ProjectPanel panel;
        panel.resize(700, 500);
        panel.show();
        QSignalSpy loaded(&panel, &ProjectPanel::projectLoaded);
        panel.openProject(q(m_root));
        QVERIFY(loaded.wait(kTimeoutMs));
        SlideTableModel *model = panel.model();
        QCOMPARE(model->rowCount(), 4);
        QCOMPARE(model->index(0, SlideTableModel::Split).data().toString(), QStringLiteral("train"));
        QCOMPARE(model->index(3, SlideTableModel::Prediction).data().toString(), QStringLiteral("tumor"));
        QCOMPARE(model->index(3, SlideTableModel::Probability).data().toString(), QStringLiteral("0.800"));
        QCOMPARE(model->index(0, SlideTableModel::Probability).data().toString(), QStringLiteral("0.200")); // P(tumor)
        QCOMPARE(model->headerData(SlideTableModel::Probability, Qt::Horizontal, Qt::DisplayRole).toString(), QStringLiteral("P(tumor)"));
        // The run's validation-chosen threshold is what its predictions use: the header says so.
        QCOMPARE(model->index(2, SlideTableModel::Prediction).data().toString(), QStringLiteral("normal")); // 0.6 < 0.7
        QCOMPARE(model->headerData(SlideTableModel::Prediction, Qt::Horizontal, Qt::DisplayRole).toString(),
                 QStringLiteral("Prediction (P >= 0.70)"));
        QCOMPARE(model->headerData(SlideTableModel::Prediction, Qt::Horizontal, Qt::ToolTipRole).toString(),
                 QStringLiteral("Run run1: tumor when P(tumor) >= 0.700, the threshold chosen on the validation slides"));
        // Thumbnails arrive from the background pool for the rows the view shows.
        QTRY_COMPARE_WITH_TIMEOUT(model->thumbnailsLoaded(), 4, kTimeoutMs);
        const QImage thumbnail = model->index(0, SlideTableModel::Thumbnail).data(Qt::DecorationRole).value<QImage>();
        QVERIFY(!thumbnail.isNull());
        QVERIFY(std::max(thumbnail.width(), thumbnail.height()) == SlideTableModel::kThumbnailSize);

        // Filters.
        panel.setSplitFilter(QStringLiteral("test"));
        QCOMPARE(panel.proxy()->rowCount(), 1);
        const auto summary = [&] { return summaryOf(panel); };
        QCOMPARE(summary(), QStringLiteral("1 of 4 slide(s) shown, 4 predicted by run run1 (newest)")); // the count follows the filter
        panel.setSplitFilter(QString());
        panel.setFilterText(model->index(2, SlideTableModel::Slide).data().toString());
        QCOMPARE(panel.proxy()->rowCount(), 1);
        panel.setFilterText(QString());
        QCOMPARE(panel.proxy()->rowCount(), 4);
        QCOMPARE(summary(), QStringLiteral("4 slide(s), 4 predicted by run run1 (newest)"));

        // Sorting by probability is numeric, highest first when descending.
        panel.view()->sortByColumn(SlideTableModel::Probability, Qt::DescendingOrder);
        QCOMPARE(panel.proxy()->index(0, SlideTableModel::Probability).data().toString(), QStringLiteral("0.800"));

        // Activating a row opens its slide.
        QSignalSpy activated(&panel, &ProjectPanel::slideActivated);
        Q_EMIT panel.view()->doubleClicked(panel.proxy()->index(0, SlideTableModel::Slide));
        QCOMPARE(activated.size(), 1);
        QVERIFY(fs::exists(activated[0][0].toString().toStdString()));
        QCOMPARE(activated[0][1].toString(), model->index(3, SlideTableModel::Slide).data().toString());
    }

    void exportsPredictionsLikeTheCli()
    {
        ProjectPanel panel;
        QSignalSpy loaded(&panel, &ProjectPanel::projectLoaded);
        panel.openProject(q(m_root));
        QVERIFY(loaded.wait(kTimeoutMs));
        const fs::path out = m_root / "exported.csv";
        QSignalSpy exported(&panel, &ProjectPanel::predictionsExported);
        panel.exportPredictions(q(out));
        QVERIFY(exported.wait(kTimeoutMs));
        QCOMPARE(exported[0][1].toString(), QString());
        const fs::path reference = m_root / "reference.csv";
        icmil::project::writePredictionsCsv(reference, m_predictions); // what `icmil export` writes
        QCOMPARE(readAll(out), readAll(reference));

        exported.clear();
        panel.exportPredictions(q(m_root / "no-such-dir" / "x.csv"));
        QVERIFY(exported.wait(kTimeoutMs));
        QVERIFY(exported[0][1].toString().startsWith(QStringLiteral("Cannot write")));
    }

    void aMissingProjectIsOneError()
    {
        ProjectPanel panel;
        QSignalSpy failed(&panel, &ProjectPanel::projectFailed);
        panel.openProject(q(m_root / "nope"));
        QVERIFY(failed.wait(kTimeoutMs));
        QCOMPARE(failed[0][1].toString(), QStringLiteral("The project folder '%1' does not exist").arg(q(m_root / "nope")));
    }

    void newProjectListsCsvProblemsRowByRow()
    {
        const fs::path csv = m_root / "bad-labels.csv";
        const auto first = readAll(m_root / "labels.csv");
        std::ofstream(csv) << first << "cX,slide_missing,tumor,train\n"
                           << "cY,slide_000,tumour,train\n";
        NewProjectDialog dialog;
        QSignalSpy checked(&dialog, &NewProjectDialog::checked);
        dialog.setProjectFolder(q(m_root / "gui-project"));
        dialog.setClassNames(QStringLiteral("normal, tumor"));
        dialog.setSlidesFolder(q(m_root / "slides"));
        dialog.setLabelsCsv(q(csv));
        QTRY_VERIFY_WITH_TIMEOUT(!dialog.isChecking() && checked.size() > 0, kTimeoutMs);
        QCOMPARE(dialog.issues().size(), std::size_t{2});
        QCOMPARE(dialog.issues()[0].line, 6);
        QVERIFY(!dialog.issues()[0].blocking); // no slide file: only left out
        QCOMPARE(dialog.issues()[1].line, 7);
        QVERIFY(dialog.issues()[1].message.find("duplicate slide_id 'slide_000'") != std::string::npos);
        QVERIFY(!dialog.canCreate());

        // The good CSV: Create writes the project file, and the project opens with its slides.
        checked.clear();
        dialog.setLabelsCsv(q(m_root / "labels.csv"));
        QTRY_VERIFY_WITH_TIMEOUT(!dialog.isChecking() && checked.size() > 0, kTimeoutMs);
        QVERIFY(dialog.issues().empty());
        QVERIFY(dialog.canCreate());
        QSignalSpy finished(&dialog, &QDialog::finished);
        dialog.create();
        QVERIFY(finished.wait(kTimeoutMs));
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
        const auto settings = icmil::project::readProjectSettings(m_root / "gui-project");
        QCOMPARE(settings.slides, (m_root / "slides").lexically_normal());
        const auto catalog = icmil::project::loadProjectCatalog(m_root / "gui-project");
        QCOMPARE(catalog.slides.size(), std::size_t{4});
        QCOMPARE(catalog.settings.labelsCsv, (m_root / "labels.csv").lexically_normal());
        QVERIFY(!catalog.slides[0].path.empty());
        QVERIFY(catalog.slides[0].label == "normal" || catalog.slides[0].label == "tumor");
    }

    void showsTheBestRunByValidationOrTheOneChosen()
    {
        // A project on the same slides with two runs: the older one validated better.
        const fs::path root = m_root / "two-runs";
        fs::remove_all(root);
        icmil::project::ProjectSettings settings;
        settings.slides = m_root;
        settings.labelsCsv = m_root / "labels.csv";
        icmil::project::writeProjectSettings(root, settings);
        for (const auto &[run, auc, tumor] : {std::tuple{"older", 0.9, 0.9}, std::tuple{"newer", 0.6, 0.1}}) {
            icmil::project::PredictionTable table = m_predictions;
            table.run = run;
            for (auto &row : table.rows) {
                row.probabilities = {1.0 - tumor, tumor};
                row.predicted = icmil::project::decideClass(row.probabilities, table.threshold);
            }
            fs::create_directories(root / "runs" / run);
            std::ofstream(root / "runs" / run / "metrics.json") << "{\"val\": {\"auc\": " << auc << "}}\n";
            icmil::project::writePredictionsJson(root / "runs" / run / "predictions.json", table);
            QTest::qWait(20); // distinct modification times: "newer" is the newest
        }
        ProjectPanel panel;
        QSignalSpy loaded(&panel, &ProjectPanel::projectLoaded);
        panel.openProject(q(root));
        QVERIFY(loaded.wait(kTimeoutMs));
        QCOMPARE(QString::fromStdString(panel.catalog().predictionRun), QStringLiteral("older"));
        const auto summary = [&] { return summaryOf(panel); };
        QCOMPARE(summary(), QStringLiteral("4 slide(s), 4 predicted by run older (best by validation AUC, 0.900)"));
        QCOMPARE(panel.model()->index(0, SlideTableModel::Prediction).data().toString(), QStringLiteral("tumor"));
        QComboBox *runs = panel.runChooser();
        QCOMPARE(runs->count(), 3);
        QCOMPARE(runs->itemText(2), QStringLiteral("older (validation AUC 0.900)"));
        QCOMPARE(runs->itemText(1), QStringLiteral("newer (validation AUC 0.600), newest"));

        // The user picks the newer run: it is shown, and stays shown across a reload.
        loaded.clear();
        runs->setCurrentIndex(1);
        Q_EMIT runs->activated(1);
        QVERIFY(loaded.wait(kTimeoutMs));
        QCOMPARE(QString::fromStdString(panel.catalog().predictionRun), QStringLiteral("newer"));
        QCOMPARE(panel.model()->index(0, SlideTableModel::Prediction).data().toString(), QStringLiteral("normal"));
        QCOMPARE(summary(), QStringLiteral("4 slide(s), 4 predicted by run newer (chosen)"));
        loaded.clear();
        panel.reload();
        QVERIFY(loaded.wait(kTimeoutMs));
        QCOMPARE(panel.chosenRun(), QStringLiteral("newer"));
        QCOMPARE(runs->currentIndex(), 1);

        // Deleted (a start over): back to the best.
        fs::remove_all(root / "runs" / "newer");
        loaded.clear();
        panel.reload();
        QVERIFY(loaded.wait(kTimeoutMs));
        QCOMPARE(QString::fromStdString(panel.catalog().predictionRun), QStringLiteral("older"));
        QCOMPARE(panel.chosenRun(), QString());
    }

    void aBrokenSlideIsCheckedMarkedAndOnlyLeftOut()
    {
        // Two good slides and a file that is not a slide: the dialog opens every slide, lists
        // the broken one as left out (not blocking), and the project's table marks its row.
        const fs::path dir = m_root / "with-broken";
        fs::remove_all(dir);
        fs::create_directories(dir / "slides");
        const auto catalog = icmil::project::loadProjectCatalog(m_root);
        std::string csv = "case_id,slide_id,label\n";
        for (std::size_t i = 0; i < 2; ++i) {
            const auto &slide = catalog.slides[i];
            fs::create_hard_link(slide.path, dir / "slides" / slide.path.filename());
            csv += slide.caseId + "," + slide.slideId + "," + slide.label + "\n";
        }
        std::ofstream(dir / "slides" / "broken.svs", std::ios::binary) << "not a slide";
        csv += "c9,broken,tumor\n";
        std::ofstream(dir / "labels.csv") << csv;

        NewProjectDialog dialog;
        QSignalSpy checked(&dialog, &NewProjectDialog::checked);
        dialog.setProjectFolder(q(dir));
        dialog.setClassNames(QStringLiteral("normal, tumor"));
        dialog.setSlidesFolder(q(dir / "slides"));
        dialog.setLabelsCsv(q(dir / "labels.csv"));
        QTRY_VERIFY_WITH_TIMEOUT(!dialog.isChecking() && checked.size() > 0, kTimeoutMs);
        QCOMPARE(dialog.issues().size(), std::size_t{1});
        QCOMPARE(dialog.issues()[0].line, 4);
        QVERIFY(!dialog.issues()[0].blocking);
        QVERIFY2(dialog.issues()[0].message.starts_with("slide 'broken' cannot be read: Cannot open slide '"),
                 dialog.issues()[0].message.c_str());
        QVERIFY(dialog.canCreate());
        const QList<QLabel *> labels = dialog.findChildren<QLabel *>();
        QVERIFY(std::any_of(labels.begin(), labels.end(), [](const QLabel *label) {
            return label->text() == QStringLiteral("1 row(s) will be left out of training: the slide file is missing or cannot be read.");
        }));
        QSignalSpy finished(&dialog, &QDialog::finished);
        dialog.create();
        QVERIFY(finished.wait(kTimeoutMs));

        ProjectPanel panel;
        panel.resize(700, 500);
        panel.show();
        QSignalSpy loaded(&panel, &ProjectPanel::projectLoaded);
        panel.openProject(q(dir));
        QVERIFY(loaded.wait(kTimeoutMs));
        SlideTableModel *model = panel.model();
        const int row = model->rowOf(QStringLiteral("broken"));
        QCOMPARE(row, 2);
        QTRY_VERIFY_WITH_TIMEOUT(!model->readError(row).isEmpty(), kTimeoutMs);
        QTRY_COMPARE_WITH_TIMEOUT(model->thumbnailsLoaded(), 2, kTimeoutMs);
        QVERIFY(model->readError(0).isEmpty());
        QCOMPARE(model->index(row, SlideTableModel::Prediction).data().toString(), QStringLiteral("cannot be read"));
        QCOMPARE(model->index(row, SlideTableModel::Slide).data(Qt::ForegroundRole).value<QColor>(), QColor(0xc6, 0x28, 0x28));
        QVERIFY(!model->index(row, SlideTableModel::Thumbnail).data(Qt::DecorationRole).value<QIcon>().isNull());
        QVERIFY(model->index(row, SlideTableModel::Slide)
                    .data(Qt::ToolTipRole)
                    .toString()
                    .startsWith(QStringLiteral("This slide cannot be read; training leaves it out: Cannot open slide '")));
        QCOMPARE(model->index(0, SlideTableModel::Prediction).data().toString(), QString());
    }
};

QTEST_MAIN(TstProjectPanel)
#include "tst_projectpanel.moc"
