// SPDX-License-Identifier: GPL-3.0-or-later
// File > Export whole-slide heatmap, offscreen, on a synthetic project with a prediction run: the
// dialog starts from the Attention panel's choices, exports on a worker thread (the PNG's pixel
// over a patch has its colour), reports what was written and what failed, and says why there is
// nothing to export without a run.
#include "ui/attention/heatmapexportdialog.h"
#include "ui/viewer/attentionheatmap.h"

#include "common/colormaptable.h"
#include "common/slidetestsupport.h"
#include "project/dataset/syntheticdataset.h"
#include "project/projectcatalog.h"
#include "project/projectlayout.h"
#include "project/training/attentionstore.h"
#include "project/training/predictiontable.h"

#include <QApplication>
#include <QImage>
#include <QMessageBox>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QtTest>

#include <filesystem>

namespace fs = std::filesystem;
using namespace icmil;

namespace {

constexpr int kTimeoutMs = 60000;
constexpr std::int64_t kPatch = 512;

} // namespace

class TstHeatmapExportDialog : public QObject {
    Q_OBJECT
private:
    fs::path m_root;
    std::string m_slide; // attention rising to the right
    std::string m_other; // no attention map

    ui::HeatmapExportDialog::Context context(const QString &slideId) const
    {
        ui::HeatmapSettings colours;
        colours.colormap = ui::Colormap::fromName(QStringLiteral("jet"));
        colours.normalisation = ui::HeatmapNormalisation::MinMax;
        return ui::HeatmapExportDialog::contextOf(project::loadProjectCatalog(m_root), slideId, colours, false, 0.4);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ICMIL Studio tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_heatmapexportdialog"));
        m_root = test::scratchDir("heatmapexportdialog");
        project::SyntheticDatasetConfig config;
        config.outputDir = m_root;
        config.slides = 2;
        config.width = 4096;
        config.height = 3072;
        config.seed = 5;
        const auto dataset = project::SyntheticDataset(config).generate();
        m_slide = dataset.slides[0].slideId;
        m_other = dataset.slides[1].slideId;

        project::SlideAttention attention;
        attention.slideId = m_slide;
        for (std::int64_t y = 0; y < 3072; y += kPatch)
            for (std::int64_t x = 0; x < 4096; x += kPatch) {
                attention.coords.push_back({x, y});
                attention.attentionRaw.push_back(static_cast<float>(x));
            }
        attention.attention = attention.attentionRaw;
        attention.probabilities = {0.2, 0.8};
        attention.classNames = {"normal", "tumor"};
        attention.patchSizeLevel0 = kPatch;
        const project::ProjectLayout layout(m_root);
        fs::create_directories(layout.attentionDir("tiny-cnn", "run1"));
        project::writeAttentionFile(layout.attentionFile("tiny-cnn", "run1", m_slide), attention);
        project::PredictionTable table;
        table.run = "run1";
        table.encoder = "tiny-cnn";
        table.classNames = {"normal", "tumor"};
        for (const auto &s : dataset.slides)
            table.rows.push_back({s.slideId, s.slideId, "", "", -1, {0.2, 0.8}, 1, 0});
        fs::create_directories(layout.runDir("run1"));
        project::writePredictionsJson(layout.runDir("run1") / "predictions.json", table);
    }

    void theAppAndTheExportDrawWithTheSameColours()
    {
        for (const QString &name : ui::Colormap::names()) {
            const ui::Colormap::Table &app = ui::Colormap::fromName(name).table();
            const ColormapTable &exported = colormapTable(name.toStdString());
            for (std::size_t i = 0; i < app.size(); ++i)
                QCOMPARE(app[i], qRgb(exported.rgb[i][0], exported.rgb[i][1], exported.rgb[i][2]));
        }
    }

    void startsFromTheAttentionPanel()
    {
        ui::HeatmapExportDialog dialog(context(QString::fromStdString(m_slide)));
        const project::RunHeatmapExport request = dialog.request();
        QCOMPARE(QString::fromStdString(request.run), QStringLiteral("run1"));
        QCOMPARE(request.slides, std::vector<std::string>{m_slide}); // the slide in view
        QCOMPARE(QString::fromStdString(request.heatmap.colormap), QStringLiteral("jet"));
        QVERIFY(request.heatmap.normalisation == project::ScoreNormalisation::MinMax);
        QCOMPARE(request.heatmap.opacity, 0.4);
        QVERIFY(!request.instance);
        QCOMPARE(request.outputDir, m_root / "heatmaps");
        dialog.setInstanceView(true);
        QVERIFY(dialog.request().instance);
        QCOMPARE(QString::fromStdString(dialog.request().className), QStringLiteral("tumor")); // the last class
        QVERIFY(dialog.request().heatmap.normalisation == project::ScoreNormalisation::Probability);
        dialog.setAllSlides(true);
        QVERIFY(dialog.request().slides.empty());

        // Outside the project, only every slide.
        ui::HeatmapExportDialog outside(context(QString()));
        outside.setAllSlides(false);
        QVERIFY(outside.request().slides.empty());
    }

    void exportsOnAWorkerAndReports()
    {
        const fs::path out = m_root / "exported";
        fs::remove_all(out);
        ui::HeatmapExportDialog dialog(context(QString::fromStdString(m_slide)));
        dialog.show();
        dialog.setOutputFolder(QString::fromStdString(out.string()));
        dialog.setAllSlides(true);
        dialog.setFormat(true, true);
        dialog.setDownsample(16);
        QSignalSpy exported(&dialog, &ui::HeatmapExportDialog::exported);
        dialog.exportHeatmaps();
        QVERIFY(dialog.isExporting());
        QVERIFY(exported.wait(kTimeoutMs));
        QVERIFY2(exported.at(0).at(1).toString().isEmpty(), qPrintable(exported.at(0).at(1).toString()));
        QVERIFY2(exported.at(0).at(0).toString().startsWith(QStringLiteral("Wrote the heatmaps of 1 slide")),
                 qPrintable(exported.at(0).at(0).toString()));
        QVERIFY(dialog.reportBox() != nullptr);
        QCOMPARE(dialog.reportBox()->icon(), QMessageBox::Information);
        dialog.reportBox()->close();

        const QImage png(QString::fromStdString((out / (m_slide + "_heatmap.png")).string()));
        QCOMPARE(png.size(), QSize(256, 192));
        // The right-most column of patches: min-max 1, jet's last colour.
        const ColormapTable::Rgb &last = colormapTable("jet").rgb.back();
        QCOMPARE(png.pixel((3584 + 256) / 16, 256 / 16), qRgb(last[0], last[1], last[2]));
        QVERIFY(fs::exists(out / (m_slide + "_heatmap.tif")));
        QVERIFY(fs::exists(out / (m_slide + "_legend.png")));

        // A slide without an attention map: a warning naming it; the dialog stays usable.
        ui::HeatmapExportDialog again(context(QString::fromStdString(m_other)));
        again.setOutputFolder(QString::fromStdString(out.string()));
        QSignalSpy failed(&again, &ui::HeatmapExportDialog::exported);
        again.exportHeatmaps();
        QVERIFY(failed.wait(kTimeoutMs));
        const QString other = QString::fromStdString(m_other);
        QVERIFY2(failed.at(0).at(1).toString().contains(QStringLiteral("%1: Run 'run1' has no attention map for '%1'").arg(other)),
                 qPrintable(failed.at(0).at(1).toString()));
        QCOMPARE(again.reportBox()->icon(), QMessageBox::Warning);
        QVERIFY(!again.isExporting());
    }

    void withoutARunItSaysWhy()
    {
        ui::HeatmapExportDialog::Context none;
        none.projectRoot = QString::fromStdString(m_root.string());
        QWidget parent;
        ui::HeatmapExportDialog::showFor(none, &parent);
        const auto boxes = parent.findChildren<QMessageBox *>();
        QCOMPARE(boxes.size(), qsizetype(1));
        QVERIFY(boxes.front()->text().contains(QStringLiteral("no predictions yet")));
        QVERIFY(parent.findChildren<ui::HeatmapExportDialog *>().isEmpty());
    }
};

QTEST_MAIN(TstHeatmapExportDialog)
#include "tst_heatmapexportdialog.moc"
