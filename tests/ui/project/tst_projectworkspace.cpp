// SPDX-License-Identifier: GPL-3.0-or-later
// The app's project workspace, offscreen, on a synthetic project with a prediction run: opening
// a project slide loads its attention heatmap (the pixel over the most attended patch has the
// colormap's colour for its score), the top-k gallery and the tissue contours; settings
// recompute the heatmap; the heatmap exports as QuPath GeoJSON; a slide outside the project
// shows none.
#include "project/training/attentionstore.h"
#include "project/training/predictiontable.h"
#include "project/features/stainsettings.h"
#include "project/projectlayout.h"
#include "project/dataset/syntheticdataset.h"
#include "ui/attention/attentiongallery.h"
#include "ui/viewer/highlightlayer.h"
#include "ui/attention/heatmappanel.h"
#include "ui/shell/mainwindow.h"
#include "ui/project/projectworkspace.h"
#include "ui/project/annotationpanel.h"
#include "ui/training/tissuepreview.h"
#include "ui/viewer/annotationlayer.h"
#include "ui/training/trainingpanel.h"
#include "ui/training/trainingsettings.h"
#include "ui/project/projectpanel.h"
#include "ui/viewer/attentionheatmap.h"
#include "ui/viewer/contourlayer.h"
#include "ui/viewer/heatmaplayer.h"
#include "ui/viewer/slideviewer.h"

#include "common/slidetestsupport.h"
#include "slide/io/slidesource.h"

#include <QAbstractButton>
#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMessageBox>
#include <QSettings>
#include <QSignalSpy>
#include <QStatusBar>
#include <QStandardPaths>
#include <QToolButton>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace icmil;

namespace {
constexpr int kTimeoutMs = 20000;
constexpr std::int64_t kPatch = 256;
} // namespace

class TstProjectWorkspace : public QObject {
    Q_OBJECT
private:
    fs::path m_root;
    QString m_slide;
    project::SlideAttention m_attention; // slide_000's, as written

    // The main window at a fixed size, shown, with the test project open; false when it did not open.
    bool openTheProject(ui::MainWindow &window) const
    {
        window.resize(1400, 900);
        window.show();
        QSignalSpy opened(window.workspace(), &ui::ProjectWorkspace::projectOpened);
        window.openProject(QString::fromStdString(m_root.string()));
        return opened.wait(kTimeoutMs);
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ICMIL Studio tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_projectworkspace"));
        QSettings().clear();
        m_root = test::scratchDir("projectworkspace");
        project::SyntheticDatasetConfig config;
        config.outputDir = m_root;
        config.slides = 2;
        config.width = 4096;
        config.height = 3072;
        config.seed = 3;
        const auto dataset = project::SyntheticDataset(config).generate();
        m_slide = QString::fromStdString(dataset.slides[0].slidePath.string());

        // A prediction run: a grid of patches whose attention rises to the right; the most
        // attended is the top-right patch of the grid.
        project::SlideAttention attention;
        attention.slideId = dataset.slides[0].slideId;
        for (std::int64_t y = 0; y < 3072; y += kPatch) {
            for (std::int64_t x = 0; x < 4096; x += kPatch) {
                attention.coords.push_back({x, y});
                attention.attentionRaw.push_back(static_cast<float>(x) + static_cast<float>(3072 - y) * 0.01f);
            }
        }
        attention.attention = attention.attentionRaw;
        // The instance view: the tumour probability rises downwards, highest on the bottom row.
        for (const auto &[x, y] : attention.coords) {
            const float tumour = static_cast<float>(y + kPatch / 2) / 3072.0f;
            attention.instanceScores.push_back(1.0f - tumour);
            attention.instanceScores.push_back(tumour);
        }
        attention.probabilities = {0.2, 0.8};
        attention.classNames = {"normal", "tumor"};
        attention.predicted = 1;
        attention.run = "run1";
        attention.encoder = "tiny-cnn";
        attention.patchSizeLevel0 = kPatch;
        const project::ProjectLayout layout(m_root);
        fs::create_directories(layout.attentionDir("tiny-cnn", "run1"));
        project::writeAttentionFile(layout.attentionFile("tiny-cnn", "run1", attention.slideId), attention);
        m_attention = attention;
        project::PredictionTable table;
        table.run = "run1";
        table.encoder = "tiny-cnn";
        table.classNames = {"normal", "tumor"};
        for (const auto &s : dataset.slides) {
            project::SlidePredictionRow row;
            row.slideId = s.slideId;
            row.probabilities = {0.2, 0.8};
            row.predicted = 1;
            table.rows.push_back(row);
        }
        fs::create_directories(layout.runDir("run1"));
        project::writePredictionsJson(layout.runDir("run1") / "predictions.json", table);
        // Tissue contours as preprocessing writes them.
        fs::create_directories(layout.tissueDir());
        std::ofstream(layout.tissueGeoJsonFile(attention.slideId))
            << R"({"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon",)"
               R"("coordinates":[[[500,500],[3500,500],[3500,2500],[500,2500],[500,500]]]}}]})";
    }

    void aProjectSlideShowsItsAttention()
    {
        ui::MainWindow window;
        QVERIFY(openTheProject(window));
        ui::ProjectWorkspace *workspace = window.workspace();
        QCOMPARE(workspace->projectPanel()->catalog().predictionRun, std::string("run1"));

        QSignalSpy heatmapLoaded(workspace, &ui::ProjectWorkspace::heatmapLoaded);
        QSignalSpy contoursLoaded(workspace, &ui::ProjectWorkspace::overlaysLoaded);
        window.openSlide(m_slide);
        QVERIFY(heatmapLoaded.wait(kTimeoutMs));
        if (contoursLoaded.isEmpty())
            QVERIFY(contoursLoaded.wait(kTimeoutMs));
        QCOMPARE(workspace->shownSlideId(), QStringLiteral("slide_000"));
        QCOMPARE(workspace->contourLayer()->polygonCount(), 1);
        const auto heatmap = workspace->heatmapLayer()->heatmap();
        QVERIFY(heatmap != nullptr);
        QCOMPARE(heatmap->patchCount(), std::size_t{16 * 12});

        // The gallery holds the top 16, most attended first: the top-right patch.
        ui::AttentionGallery *gallery = workspace->heatmapPanel()->gallery();
        QCOMPARE(gallery->count(), 16);
        QCOMPARE(gallery->patches().front().level0, QRectF(4096 - kPatch, 0, kPatch, kPatch));

        // Clicking the top patch zooms to it and outlines it.
        Q_EMIT gallery->itemClicked(gallery->item(0));
        const QRectF picked(4096 - kPatch, 0, kPatch, kPatch);
        QCOMPARE(workspace->highlightLayer()->rect(), picked);
        QCOMPARE(window.viewer()->transform().center(), picked.center());
        const QSizeF view = window.viewer()->transform().viewSize();
        QCOMPARE(window.viewer()->transform().scale(),
                 kPatch / (ui::SlideViewer::kShownRegionShare * std::min(view.width(), view.height())));

        // At full opacity, the screen pixel over that patch's centre has the colormap's colour.
        workspace->heatmapPanel()->setOpacityPercent(100);
        workspace->heatmapPanel()->setColormapName(QStringLiteral("turbo"));
        ui::SlideViewer *viewer = window.viewer();
        const std::size_t top = heatmap->topK(1).front();
        const QPointF centre = workspace->heatmapLayer()->heatmap()->patchRect(top).center();
        viewer->setScale(1.0); // the patch fills 256 screen pixels, clear of the legend and scale bar
        viewer->centerOn(centre);
        QTRY_VERIFY_WITH_TIMEOUT(viewer->isFrameComplete(), kTimeoutMs);
        const QImage frame = viewer->renderView();
        const QPoint at = (viewer->transform().slideToView(centre) * viewer->devicePixelRatioF()).toPoint();
        const double score = workspace->heatmapLayer()->heatmap()->scores()[top];
        QCOMPARE(score, 1.0);
        QCOMPARE(frame.pixel(at) & 0xffffffu, ui::Colormap::fromName(QStringLiteral("turbo")).at(score) & 0xffffffu);

        // A threshold above every score but the top hides the rest: a low patch shows the slide.
        workspace->heatmapPanel()->setThreshold(0.999);
        const QPointF low = workspace->heatmapLayer()->heatmap()->patchRect(top - 1).center(); // its left neighbour
        const QImage thresholded = viewer->renderView();
        const QColor underLow = thresholded.pixelColor((viewer->transform().slideToView(low) * viewer->devicePixelRatioF()).toPoint());
        QVERIFY(workspace->heatmapLayer()->heatmap()->settings().threshold.has_value());
        QVERIFY(underLow.rgb() != ui::Colormap::fromName(QStringLiteral("turbo")).at(0.0));

        // Export as GeoJSON for QuPath: one feature per patch.
        QSignalSpy exported(workspace, &ui::ProjectWorkspace::heatmapExported);
        const fs::path geojson = m_root / "export.geojson";
        workspace->exportHeatmapGeoJson(QString::fromStdString(geojson.string()));
        QVERIFY(exported.wait(kTimeoutMs));
        QCOMPARE(exported[0][1].toString(), QString());
        std::ifstream in(geojson);
        const nlohmann::json json = nlohmann::json::parse(in);
        QCOMPARE(json.at("features").size(), std::size_t{16 * 12});

        // The second slide has predictions but no attention file: no heatmap, and the panel says why.
        heatmapLoaded.clear();
        window.openSlide(QString::fromStdString((m_root / "slides" / "slide_001.svs").string()));
        QVERIFY(heatmapLoaded.wait(kTimeoutMs));
        QVERIFY(workspace->heatmapLayer()->heatmap() == nullptr);
        QCOMPARE(workspace->heatmapPanel()->gallery()->count(), 0);
        QVERIFY(workspace->highlightLayer()->rect().isEmpty()); // the outline belonged to the other slide
    }

    void theInstanceViewIsTheOtherMap()
    {
        ui::MainWindow window;
        QVERIFY(openTheProject(window));
        ui::ProjectWorkspace *workspace = window.workspace();
        ui::HeatmapPanel *panel = workspace->heatmapPanel();
        auto *mapBox = panel->findChild<QComboBox *>(QStringLiteral("heatmapMap"));
        QVERIFY(mapBox != nullptr);
        QSignalSpy heatmapLoaded(workspace, &ui::ProjectWorkspace::heatmapLoaded);
        window.openSlide(m_slide);
        QVERIFY(heatmapLoaded.wait(kTimeoutMs));
        QVERIFY(panel->hasInstanceMap());
        QVERIFY(mapBox->isEnabled());
        QCOMPARE(panel->map(), ui::HeatmapMap::Attention);
        QCOMPARE(workspace->heatmapLayer()->heatmap()->scoreName(), QStringLiteral("Attention"));

        // The instance view: the tumour probability per patch, as it is, and its own gallery.
        panel->setMap(ui::HeatmapMap::InstanceScore);
        const auto instance = workspace->heatmapLayer()->heatmap();
        QCOMPARE(instance->scoreName(), QStringLiteral("Instance score (tumor)"));
        QCOMPARE(int(instance->settings().normalisation), int(ui::HeatmapNormalisation::Probability));
        QCOMPARE(instance->scores()[0], static_cast<double>(m_attention.instanceScores[1]));
        QCOMPARE(panel->gallery()->patches().front().level0, QRectF(0, 3072 - kPatch, kPatch, kPatch)); // bottom row, first
        // The readout under the mouse says which map.
        Q_EMIT window.viewer()->cursorMoved(QPointF(10, 3072 - 10));
        QVERIFY2(window.statusBar()->currentMessage().startsWith(QStringLiteral("Instance score (tumor) 0.958, patch at x 0, y 2816")),
                 qPrintable(window.statusBar()->currentMessage()));
        panel->setMap(ui::HeatmapMap::Attention);
        QCOMPARE(workspace->heatmapLayer()->heatmap()->scoreName(), QStringLiteral("Attention"));
        Q_EMIT window.viewer()->cursorMoved(QPointF(10, 3072 - 10));
        QVERIFY2(window.statusBar()->currentMessage().startsWith(QStringLiteral("Attention ")),
                 qPrintable(window.statusBar()->currentMessage()));
        QCOMPARE(panel->gallery()->patches().front().level0, QRectF(4096 - kPatch, 0, kPatch, kPatch));

        // An attention file from before instance scores: the choice is disabled and says why.
        panel->setMap(ui::HeatmapMap::InstanceScore);
        project::SlideAttention old = m_attention;
        old.instanceScores.clear();
        const fs::path file = project::ProjectLayout(m_root).attentionFile("tiny-cnn", "run1", old.slideId);
        project::writeAttentionFile(file, old);
        heatmapLoaded.clear();
        window.openSlide(m_slide);
        QVERIFY(heatmapLoaded.wait(kTimeoutMs));
        project::writeAttentionFile(file, m_attention); // as the other tests expect it
        QVERIFY(!panel->hasInstanceMap());
        QVERIFY(!mapBox->isEnabled());
        QVERIFY2(mapBox->toolTip().contains(QStringLiteral("no instance scores")), qPrintable(mapBox->toolTip()));
        QCOMPARE(panel->map(), ui::HeatmapMap::Attention);
        QCOMPARE(workspace->heatmapLayer()->heatmap()->scoreName(), QStringLiteral("Attention"));
    }

    void tissuePreviewFollowsTheSettingsAndTheSlide()
    {
        // Training dock > Preview tissue: the shown slide's tissue under the form's settings,
        // outlined in the viewer and counted, before anything is extracted; it follows the
        // tissue preset as the user changes it, and the slide as another is shown.
        ui::MainWindow window;
        QVERIFY(openTheProject(window));
        ui::ProjectWorkspace *workspace = window.workspace();
        window.openSlide(m_slide);
        QTRY_VERIFY_WITH_TIMEOUT(window.viewer()->slide() != nullptr, kTimeoutMs);

        ui::TrainingPanel *panel = workspace->trainingPanel();
        auto *toggle = panel->findChild<QCheckBox *>(QStringLiteral("tissuePreview"));
        auto *text = panel->findChild<QLabel *>(QStringLiteral("tissuePreviewText"));
        auto *preset = panel->findChild<QComboBox *>(QStringLiteral("tissuePreset"));
        QVERIFY(toggle && text && preset);
        ui::TissuePreview *preview = workspace->tissuePreview();
        QVERIFY(!preview->isActive());
        QSignalSpy previewed(preview, &ui::TissuePreview::previewed);
        preset->setCurrentText(QStringLiteral("default"));
        toggle->setChecked(true);
        QVERIFY(previewed.wait(kTimeoutMs));
        QVERIFY2(panel->tissuePreviewText().startsWith(QStringLiteral("Tissue ")), qPrintable(panel->tissuePreviewText()));
        QVERIFY2(panel->tissuePreviewText().contains(QStringLiteral("(preset default;")), qPrintable(panel->tissuePreviewText()));
        QVERIFY(text->isVisibleTo(panel));
        // The outlines are in the viewer, over the synthetic slide's tissue (4096 x 3072, 0.5 um/px:
        // the default preset keeps it now that areas are physical and capped by the slide's).
        ui::ContourLayer *outline = nullptr;
        for (ui::ViewLayer *layer : window.viewer()->layers())
            if (auto *contours = qobject_cast<ui::ContourLayer *>(layer);
                contours && contours != workspace->contourLayer() && contours->isVisible() && contours->polygonCount() > 0)
                outline = contours;
        QVERIFY(outline != nullptr);

        previewed.clear();
        preset->setCurrentText(QStringLiteral("bwh_biopsy"));
        QVERIFY(previewed.wait(kTimeoutMs));
        QVERIFY2(panel->tissuePreviewText().contains(QStringLiteral("(preset bwh_biopsy;")), qPrintable(panel->tissuePreviewText()));

        // Another slide: its own preview.
        previewed.clear();
        window.openSlide(QString::fromStdString((m_root / "slides" / "slide_001.svs").string()));
        QVERIFY(previewed.wait(kTimeoutMs));
        QVERIFY2(panel->tissuePreviewText().startsWith(QStringLiteral("Tissue ")), qPrintable(panel->tissuePreviewText()));

        toggle->setChecked(false);
        QVERIFY(!outline->isVisible());
        QVERIFY(!text->isVisibleTo(panel));
    }

    void stainReferenceIsTheShownView()
    {
        // Training dock > Stain reference > "Shown view": the shown slide and the level-0
        // rectangle the viewer shows, clipped to the slide, as --stain-reference takes it.
        ui::MainWindow window;
        QVERIFY(openTheProject(window));
        ui::TrainingPanel *panel = window.workspace()->trainingPanel();
        auto *button = panel->findChild<QToolButton *>(QStringLiteral("stainFromView"));
        auto *reference = panel->findChild<QLineEdit *>(QStringLiteral("stainReference"));
        QVERIFY(button && reference);
        QCOMPARE(reference->text(), QStringLiteral("built-in"));
        button->click(); // no slide shown: nothing changes
        QCOMPARE(reference->text(), QStringLiteral("built-in"));
        window.openSlide(m_slide);
        QTRY_VERIFY_WITH_TIMEOUT(window.viewer()->slide() != nullptr, kTimeoutMs);
        window.viewer()->fitToWindow();
        button->click();
        const project::StainRegion whole = project::parseStainRegion(reference->text().toStdString());
        QCOMPARE(QString::fromStdString(whole.slide.string()), m_slide);
        QCOMPARE(whole.x, std::int64_t{0});
        QCOMPARE(whole.width, std::int64_t{4096}); // the whole slide fits: clipped to it
        window.viewer()->showRegion(QRectF(1000, 800, 256, 256));
        QCoreApplication::processEvents();
        button->click();
        const project::StainRegion zoomed = project::parseStainRegion(reference->text().toStdString());
        QVERIFY(zoomed.x > 0 && zoomed.width < 4096 && zoomed.x <= 1000 && zoomed.x + zoomed.width >= 1256);
        QCOMPARE(panel->loopConfig().extraction.stain.referenceSource, reference->text().toStdString());
    }

    void importedAnnotationsShowOverTheirTissue()
    {
        // File > Import annotations: a QuPath export for slide_000 (a Tumor region with a hole),
        // an ASAP file for slide_001 and one for a slide the project does not have.
        const fs::path from = m_root / "annotations-in";
        fs::remove_all(from);
        fs::remove_all(m_root / "annotations"); // an earlier run's import
        fs::create_directories(from);
        std::ofstream(from / "slide_000.svs.geojson")
            << R"({"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[)"
               R"([[1000,800],[3000,800],[3000,2200],[1000,2200],[1000,800]],[[1800,1300],[2200,1300],[2200,1700],[1800,1700],[1800,1300]]]},)"
               R"("properties":{"objectType":"annotation","classification":{"name":"Tumor","color":[255,0,0]}}}]})";
        const std::string asap
            = R"(<ASAP_Annotations><Annotations><Annotation Name="pen" Type="Rectangle" PartOfGroup="Pen" Color="#0000FF">)"
              R"(<Coordinates><Coordinate Order="0" X="10" Y="10"/><Coordinate Order="1" X="90" Y="10"/>)"
              R"(<Coordinate Order="2" X="90" Y="90"/><Coordinate Order="3" X="10" Y="90"/></Coordinates></Annotation>)"
              R"(</Annotations></ASAP_Annotations>)";
        std::ofstream(from / "slide_001.xml") << asap;
        std::ofstream(from / "slide_009.xml") << asap;

        ui::MainWindow window;
        QVERIFY(openTheProject(window));
        ui::ProjectWorkspace *workspace = window.workspace();
        ui::AnnotationPanel *panel = workspace->annotationPanel();
        QSignalSpy loaded(panel, &ui::AnnotationPanel::loaded);
        window.openSlide(m_slide);
        QVERIFY(loaded.wait(kTimeoutMs));
        QCOMPARE(workspace->annotationLayer()->shapeCount(), 0);
        QVERIFY2(panel->status().startsWith(QStringLiteral("No annotations for slide_000")), qPrintable(panel->status()));

        QSignalSpy imported(panel, &ui::AnnotationPanel::importFinished);
        QSignalSpy heatmapLoaded(workspace, &ui::ProjectWorkspace::heatmapLoaded);
        loaded.clear();
        workspace->importAnnotations({QString::fromStdString(from.string())});
        QVERIFY(imported.wait(kTimeoutMs));
        // The attention panel scores the slide's heatmap against its new tumour annotations.
        QVERIFY(heatmapLoaded.wait(kTimeoutMs));
        QVERIFY2(workspace->heatmapPanel()->status().contains(QStringLiteral("Against the tumor annotations: patch AUC ")),
                 qPrintable(workspace->heatmapPanel()->status()));
        QCOMPARE(imported[0][0].toString(), QStringLiteral("Imported annotations from 2 of 3 file(s)"));
        QCOMPARE(imported[0][2].toBool(), false);
        const QStringList lines = imported[0][1].toStringList();
        QVERIFY2(lines.contains(QStringLiteral("slide_009.xml: no slide 'slide_009' in the project")),
                 qPrintable(lines.join(QLatin1Char('|'))));
        auto *report = window.findChild<QMessageBox *>(QStringLiteral("annotationImportReport"));
        QVERIFY(report != nullptr);
        QCOMPARE(report->icon(), QMessageBox::Warning);
        report->close();
        if (loaded.isEmpty())
            QVERIFY(loaded.wait(kTimeoutMs));
        ui::AnnotationLayer *layer = workspace->annotationLayer();
        QCOMPARE(layer->shapeCount(), 1);
        QCOMPARE(layer->classNames(), QStringList{QStringLiteral("Tumor")});
        QCOMPARE(layer->classAt(QPointF(1500, 1500)), QStringLiteral("Tumor"));
        QCOMPARE(layer->classAt(QPointF(2000, 1500)), QString()); // the hole
        QCOMPARE(layer->classAt(QPointF(500, 500)), QString());

        // Over the right tissue at every zoom: filled, the screen pixel over the region is redder
        // than without the annotations, the hole and the outside are unchanged.
        workspace->heatmapLayer()->setVisible(false);
        auto *filled = panel->findChild<QCheckBox *>(QStringLiteral("annotationsFilled"));
        QVERIFY(filled);
        filled->setChecked(true);
        ui::SlideViewer *viewer = window.viewer();
        for (const double scale : {1.5, 4.0, 12.0}) {
            viewer->setScale(scale);
            viewer->centerOn(QPointF(2000, 1500));
            QTRY_VERIFY_WITH_TIMEOUT(viewer->isFrameComplete(), kTimeoutMs);
            layer->setVisible(true);
            const QImage with = viewer->renderView();
            layer->setVisible(false);
            const QImage without = viewer->renderView();
            layer->setVisible(true);
            auto pixel = [&](const QImage &image, QPointF level0) {
                return image.pixelColor((viewer->transform().slideToView(level0) * viewer->devicePixelRatioF()).toPoint());
            };
            auto onScreen = [&](QPointF level0) {
                return QRectF(QPointF(0, 0), QSizeF(with.size()) / viewer->devicePixelRatioF())
                    .adjusted(4, 4, -4, -4)
                    .contains(viewer->transform().slideToView(level0));
            };
            const QPointF inside(1700, 1500), hole(2000, 1500), outside(2000, 600);
            QVERIFY(onScreen(inside));
            const QColor a = pixel(with, inside), b = pixel(without, inside);
            QVERIFY2(a.red() - a.green() > b.red() - b.green() + 20,
                     qPrintable(QStringLiteral("scale %1: %2 vs %3").arg(scale).arg(a.name(), b.name())));
            QCOMPARE(pixel(with, hole), pixel(without, hole));
            if (onScreen(outside))
                QCOMPARE(pixel(with, outside), pixel(without, outside));
        }
        // Unticking the class hides it.
        auto *classes = panel->findChild<QListWidget *>(QStringLiteral("annotationClasses"));
        QVERIFY(classes && classes->count() == 1);
        classes->item(0)->setCheckState(Qt::Unchecked);
        QVERIFY(!layer->classVisible(QStringLiteral("Tumor")));
        QCOMPARE(layer->classAt(QPointF(1500, 1500)), QString());
    }

    void tissuePreviewSaysWhyThereAreNoPatches()
    {
        ui::ContourLayer layer;
        ui::TissuePreview preview(&layer);
        QSignalSpy previewed(&preview, &ui::TissuePreview::previewed);
        preview.setSlide(slide::SlideSource::open(m_slide.toStdString()));
        QVERIFY(!preview.busy()); // inactive: nothing computed
        QVERIFY(preview.text().isEmpty());
        project::TilingConfig nothing;
        nothing.tissue.minTissueAreaMm2 = 1000.0; // larger than the slide, and not capped
        nothing.tissue.maxAreaFraction = 1.0;
        preview.setTiling(nothing);
        preview.setActive(true);
        QVERIFY(layer.isVisible());
        QVERIFY(previewed.wait(kTimeoutMs));
        QVERIFY2(preview.text().startsWith(QStringLiteral("No patches: tissue detection (preset default): ")), qPrintable(preview.text()));
        QVERIFY2(preview.text().contains(QStringLiteral("--min-tissue-area")), qPrintable(preview.text()));
        QCOMPARE(layer.polygonCount(), 0);

        // Two requests in a row: the first's result is not shown, the second's is.
        previewed.clear();
        preview.setTiling(project::TilingConfig{});
        preview.setTiling(nothing);
        preview.setTiling(project::TilingConfig{});
        QVERIFY(previewed.wait(kTimeoutMs));
        QTRY_VERIFY_WITH_TIMEOUT(!preview.busy(), kTimeoutMs);
        QCOMPARE(previewed.count(), 1);
        QVERIFY2(preview.text().startsWith(QStringLiteral("Tissue ")), qPrintable(preview.text()));
        QVERIFY(layer.polygonCount() > 0);

        preview.setSlide(nullptr);
        QCOMPARE(preview.text(), QStringLiteral("Open a slide to preview the tissue these settings keep."));
        QCOMPARE(layer.polygonCount(), 0);
        preview.setActive(false);
        QVERIFY(!layer.isVisible());
        QVERIFY(preview.text().isEmpty());
    }

    void aProjectWithoutItsSlidesAsksForTheirFolder()
    {
        // A project the CLI trained on slides outside it, before it recorded them: runs, no slides.
        const fs::path project = test::scratchDir("projectworkspace-noslides") / "project";
        fs::remove_all(project);
        fs::create_directories(project / "icmil" / "icmil");
        ui::MainWindow window;
        window.resize(1400, 900);
        window.show();
        ui::ProjectWorkspace *workspace = window.workspace();
        QString asked;
        workspace->setSlidesFolderChooser([&](const QString &start) {
            asked = start;
            return QString::fromStdString(m_root.string()); // the dataset folder: slides/ and labels.csv
        });
        QSignalSpy opened(workspace, &ui::ProjectWorkspace::projectOpened);
        window.openProject(QString::fromStdString(project.string()));
        QVERIFY(opened.wait(kTimeoutMs));
        QVERIFY(workspace->projectPanel()->catalog().slides.empty());
        QMessageBox *box = workspace->missingSlidesBox();
        QVERIFY(box != nullptr);
        QVERIFY(box->isVisible());
        QVERIFY2(box->text().contains(QStringLiteral("are not in")), qPrintable(box->text()));

        // "Locate slides...": the folder is recorded and the project reloads with its slides.
        QSignalSpy located(workspace, &ui::ProjectWorkspace::slidesLocated);
        QAbstractButton *locate = nullptr;
        for (QAbstractButton *button : box->buttons())
            if (button->text().startsWith(QStringLiteral("Locate")))
                locate = button;
        QVERIFY(locate != nullptr);
        locate->click();
        QVERIFY(located.wait(kTimeoutMs));
        QCOMPARE(located[0][1].toString(), QString());
        QCOMPARE(asked, QString::fromStdString(project.parent_path().string()));
        QVERIFY(opened.wait(kTimeoutMs));
        QCOMPARE(workspace->projectPanel()->catalog().slides.size(), std::size_t{2});
        QCOMPARE(workspace->projectPanel()->catalog().settings.labelsCsv, m_root / "labels.csv");
        QCOMPARE(workspace->trainingPanel()->settings().slides, m_root); // Train uses them too
        QCOMPARE(workspace->trainingPanel()->baseConfig().labelsCsv, m_root / "labels.csv");
        QTRY_VERIFY(workspace->missingSlidesBox() == nullptr); // closed by its button, not asked again
    }
};

QTEST_MAIN(TstProjectWorkspace)
#include "tst_projectworkspace.moc"
