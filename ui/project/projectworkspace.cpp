// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/project/projectworkspace.h"

#include "ui/shell/demoproject.h"
#include "ui/shell/mainwindow.h"
#include "ui/shell/preferences.h"
#include "ui/project/annotationpanel.h"
#include "ui/project/newprojectdialog.h"
#include "ui/project/qtpolygons.h"
#include "ui/project/projectpanel.h"
#include "ui/training/tissuepreview.h"
#include "ui/training/trainingpanel.h"
#include "ui/training/trainingsettings.h"
#include "ui/training/trainingsettingsform.h"
#include "ui/attention/attentiongallery.h"
#include "ui/viewer/highlightlayer.h"
#include "ui/attention/heatmappanel.h"
#include "ui/attention/heatmapexportdialog.h"
#include "ui/viewer/attentionheatmap.h"
#include "ui/viewer/annotationlayer.h"
#include "ui/viewer/contourlayer.h"
#include "ui/viewer/heatmaplayer.h"
#include "ui/viewer/slideviewer.h"

#include "project/annotations/annotationimport.h"
#include "project/annotations/qupathoffset.h"
#include "project/export/attentiongeojson.h"
#include "project/export/wholeslideheatmap.h"
#include "project/training/attentionstore.h"
#include "project/demorecipe.h"
#include "project/export/geojsonpolygons.h"
#include "project/projectcatalog.h"
#include "project/projectlayout.h"

#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QProgressDialog>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QStatusBar>
#include <QtConcurrent>

#include <cmath>
#include <exception>
#include <filesystem>
#include <utility>

namespace icmil::ui {

namespace {

const QString kLastProjectKey = QStringLiteral("project/last");

// "Against the Tumor annotations: patch AUC 0.93, top-10% in them 0.81 (of at most 0.95)." for
// the first class after the first (the positive one of normal/tumour) that the slide's imported
// annotations have; "" when none (or the annotations cannot be read).
QString localisationAgainstAnnotations(const std::filesystem::path &root, const std::string &slideId, const project::SlideAttention &slide)
{
    const std::filesystem::path file = project::annotationFile(root, slideId);
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
        return {};
    try {
        const project::AnnotationSet set = project::readProjectAnnotations(file);
        for (std::size_t k = 1; k < slide.classNames.size(); ++k) {
            if (!project::hasAnnotationClass(set, slide.classNames[k]))
                continue;
            project::LocalisationAccumulator accumulator;
            const std::vector<int> labels
                = project::annotatedPatchLabels(set, slide.classNames[k], slide.coords, project::attentionPatchSize(slide));
            if (!accumulator.add(labels, std::vector<double>(slide.attention.begin(), slide.attention.end())))
                return QObject::tr("The %1 annotations cover none or all of the patches: no localisation score.")
                    .arg(QString::fromStdString(slide.classNames[k]));
            const project::LocalisationScore score = accumulator.score();
            return QObject::tr("Against the %1 annotations: patch AUC %2, top-10% in them %3 (of at most %4).")
                .arg(QString::fromStdString(slide.classNames[k]))
                .arg(score.patchAuc, 0, 'f', 3)
                .arg(score.topFraction, 0, 'f', 3)
                .arg(score.ceiling, 0, 'f', 3);
        }
    } catch (const std::exception &) {
        return {}; // the Annotations dock says what is wrong with the file
    }
    return {};
}

} // namespace

ProjectWorkspace::ProjectWorkspace(MainWindow &window) : QObject(&window), m_window(window)
{
    m_panel = new ProjectPanel(&window);
    m_dock = new QDockWidget(tr("Project"), &window);
    m_dock->setObjectName(QStringLiteral("projectDock"));
    m_dock->setWidget(m_panel);
    window.addDockWidget(Qt::LeftDockWidgetArea, m_dock);
    window.resizeDocks({m_dock}, {430}, Qt::Horizontal);

    connect(m_panel, &ProjectPanel::slideActivated, &window, [this](const QString &path) { m_window.openSlide(path); });
    connect(m_panel, &ProjectPanel::projectLoaded, this, &ProjectWorkspace::onProjectLoaded);
    connect(m_panel, &ProjectPanel::projectFailed, this, [this](const QString &, const QString &message) {
        m_demoOpening = false;
        showError(tr("Cannot open project"), message);
    });
    m_training = new TrainingPanel(&window);
    m_trainingDock = new QDockWidget(tr("Training"), &window);
    m_trainingDock->setObjectName(QStringLiteral("trainingDock"));
    // In a scroll area: the dock can be made as short as the user likes (the panel's settings,
    // charts and log together are taller than a laptop screen).
    auto *trainingScroll = new QScrollArea(&window);
    trainingScroll->setWidget(m_training);
    trainingScroll->setWidgetResizable(true);
    trainingScroll->setFrameShape(QFrame::NoFrame);
    m_trainingDock->setWidget(trainingScroll);
    window.addDockWidget(Qt::BottomDockWidgetArea, m_trainingDock);
    m_trainingDock->hide(); // shown with a project
    connect(m_training, &TrainingPanel::runFinished, this, [this](const QString &bestRun) {
        m_window.statusBar()->showMessage(tr("Training finished; best model: run %1").arg(bestRun), 15000);
    });
    // New predictions (each iteration's run) or deleted ones (start over): the table and the shown
    // slide's heatmap follow.
    connect(m_training, &TrainingPanel::projectOutputsChanged, m_panel, &ProjectPanel::reload);
    connect(m_training, &TrainingPanel::runFailed, this, [this](const QString &message) { showError(tr("Training failed"), message); });

    m_contours = new ContourLayer(this);
    m_contours->setVisible(false);
    window.viewer()->addLayer(m_contours);
    connect(&window, &MainWindow::slideShown, this, &ProjectWorkspace::onSlideShown);
    connect(&m_contourWatcher, &QFutureWatcher<Contours>::finished, this, [this] {
        const Contours contours = m_contourWatcher.result();
        if (contours.slideId != m_slideId)
            return; // another slide is shown by now
        m_contours->setPolygons(contours.polygons);
        if (!contours.error.isEmpty())
            m_window.statusBar()->showMessage(contours.error, 10000);
        Q_EMIT overlaysLoaded(contours.slideId);
    });
    // Imported annotations of the shown slide (PROJECT/annotations), their dock, and the class
    // under the mouse in the status bar.
    m_annotations = new AnnotationLayer(this); // added over the heatmap, below
    m_annotationPanel = new AnnotationPanel(m_annotations, &window);
    m_annotationDock = new QDockWidget(tr("Annotations"), &window);
    m_annotationDock->setObjectName(QStringLiteral("annotationDock"));
    m_annotationDock->setWidget(m_annotationPanel);
    window.addDockWidget(Qt::RightDockWidgetArea, m_annotationDock);
    m_annotationDock->hide(); // shown with a project
    connect(m_annotationPanel, &AnnotationPanel::importFinished, this, [this](const QString &summary, const QStringList &lines, bool all) {
        m_window.statusBar()->showMessage(summary, 15000);
        if (!m_slideId.isEmpty())
            loadOverlays(); // the attention panel scores the heatmap against new annotations
        auto *box = new QMessageBox(all ? QMessageBox::Information : QMessageBox::Warning, tr("Import annotations"),
                                    summary + QLatin1Char('.'), QMessageBox::Ok, &m_window);
        box->setObjectName(QStringLiteral("annotationImportReport"));
        box->setInformativeText(lines.mid(0, 8).join(QLatin1Char('\n')));
        if (lines.size() > 8)
            box->setDetailedText(lines.join(QLatin1Char('\n')));
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
    });

    // The Training dock's "Preview tissue": what its tissue settings keep on the shown slide.
    m_tissuePreviewLayer = new ContourLayer(this);
    m_tissuePreviewLayer->setColor(QColor(0x29, 0xb6, 0xf6)); // added over the heatmap, below
    m_tissuePreview = new TissuePreview(m_tissuePreviewLayer, this);
    connect(m_training, &TrainingPanel::tissuePreviewToggled, this, [this](bool on) {
        m_tissuePreview->setTiling(m_training->loopConfig().extraction.tiling);
        m_tissuePreview->setSlide(m_window.viewer()->slide());
        m_tissuePreview->setActive(on);
    });
    connect(m_training, &TrainingPanel::settingsEdited, this,
            [this] { m_tissuePreview->setTiling(m_training->loopConfig().extraction.tiling); });
    connect(window.viewer(), &SlideViewer::slideChanged, this, [this] { m_tissuePreview->setSlide(m_window.viewer()->slide()); });
    connect(m_tissuePreview, &TissuePreview::textChanged, m_training, &TrainingPanel::setTissuePreviewText);
    // The stain reference's "Shown view": the part of the shown slide in the viewer.
    connect(m_training->form(), &TrainingSettingsForm::stainReferenceFromViewRequested, this, [this] {
        const SlideViewer *viewer = m_window.viewer();
        if (!viewer->slide()) {
            m_window.statusBar()->showMessage(tr("Open a slide to take its stain as the reference"), 5000);
            return;
        }
        const QRectF shown = viewer->transform().visibleSlideRect().intersected(QRectF(QPointF(0, 0), viewer->transform().slideSize()));
        m_training->form()->setStainReference(QStringLiteral("%1@%2,%3,%4,%5")
                                                  .arg(QString::fromStdString(viewer->slide()->path().string()))
                                                  .arg(std::llround(shown.left()))
                                                  .arg(std::llround(shown.top()))
                                                  .arg(std::max<long long>(1, std::llround(shown.width())))
                                                  .arg(std::max<long long>(1, std::llround(shown.height()))));
    });
    m_heatmap = new HeatmapLayer(this);
    window.viewer()->addLayer(m_heatmap);
    // Outlines a user looks for stay visible over the heatmap.
    window.viewer()->addLayer(m_annotations);
    window.viewer()->addLayer(m_tissuePreviewLayer);
    m_heatmapPanel = new HeatmapPanel(m_heatmap, &window);
    m_heatmapDock = new QDockWidget(tr("Attention"), &window);
    m_heatmapDock->setObjectName(QStringLiteral("heatmapDock"));
    m_heatmapDock->setWidget(m_heatmapPanel);
    window.addDockWidget(Qt::RightDockWidgetArea, m_heatmapDock);
    m_dock->hide(); // the project and attention docks are shown with a project
    m_heatmapDock->hide();
    connect(&m_attentionWatcher, &QFutureWatcher<Attention>::finished, this, &ProjectWorkspace::onHeatmapLoaded);
    // A patch picked in the gallery: shown zoomed in and outlined (until another slide is shown).
    m_highlight = new HighlightLayer(this);
    window.viewer()->addLayer(m_highlight);
    connect(m_heatmapPanel->gallery(), &AttentionGallery::patchActivated, this, [this](const QRectF &patch) {
        m_highlight->setRect(patch);
        m_window.viewer()->showRegion(patch);
    });
    connect(window.viewer(), &SlideViewer::slideChanged, m_highlight, [this] { m_highlight->setRect({}); });
    connect(window.viewer(), &SlideViewer::cursorMoved, this, &ProjectWorkspace::onCursorMoved);
    connect(&m_geoJsonWatcher, &QFutureWatcher<QString>::finished, this, [this] {
        const QString error = m_geoJsonWatcher.result();
        if (error.isEmpty())
            m_window.statusBar()->showMessage(tr("Saved the heatmap to %1").arg(m_geoJsonPath), 10000);
        else
            showError(tr("Cannot export heatmap"), error);
        Q_EMIT heatmapExported(m_geoJsonPath, error);
    });
    m_demo = new DemoProjectBuilder(this);
    connect(m_demo, &DemoProjectBuilder::progressChanged, this, [this](int slide, int slides) {
        if (m_demoProgress) {
            m_demoProgress->setLabelText(tr("Generating demo slide %1 of %2 ...").arg(slide + 1).arg(slides));
            m_demoProgress->setValue(slide);
        }
    });
    connect(m_demo, &DemoProjectBuilder::finished, this, &ProjectWorkspace::onDemoGenerated);
    m_chooseSlidesFolder = [this](const QString &start) {
        return QFileDialog::getExistingDirectory(&m_window, tr("Choose the folder that holds the project's slides"), start);
    };
    connect(&m_locateWatcher, &QFutureWatcher<QString>::finished, this, [this] {
        const QString error = m_locateWatcher.result();
        if (error.isEmpty())
            m_panel->reload();
        else
            showError(tr("Cannot record the slides folder"), error);
        Q_EMIT slidesLocated(m_locatedFolder, error);
    });
    connect(m_demo, &DemoProjectBuilder::failed, this, [this](const QString &message) {
        if (m_demoProgress)
            m_demoProgress->close();
        showError(tr("Cannot make the demo project"), message);
    });
    connect(m_demo, &DemoProjectBuilder::cancelled, this, [this] {
        if (m_demoProgress)
            m_demoProgress->close();
        m_window.statusBar()->showMessage(tr("Demo cancelled"), 10000);
    });
    connect(m_panel, &ProjectPanel::predictionsExported, this, [this](const QString &path, const QString &error) {
        if (error.isEmpty())
            m_window.statusBar()->showMessage(tr("Saved the predictions to %1").arg(path), 10000);
        else
            showError(tr("Cannot export predictions"), error);
    });
}

void ProjectWorkspace::addFileActions(QMenu *file)
{
    file->addAction(tr("&New project..."), this, &ProjectWorkspace::newProject);
    file->addAction(tr("Open &project..."), QKeySequence(tr("Ctrl+Shift+O")), this, &ProjectWorkspace::chooseProject);
    file->addAction(tr("Export heatmap as &GeoJSON (QuPath)..."), this, &ProjectWorkspace::chooseGeoJsonPath);
    file->addAction(tr("Export &whole-slide heatmap..."), this, [this] {
        const bool instance = m_heatmapPanel->map() == HeatmapMap::InstanceScore;
        const HeatmapSettings colours = m_heatmapPanel->settings();
        HeatmapExportDialog::showFor(HeatmapExportDialog::contextOf(m_panel->catalog(), m_slideId, colours, instance, m_heatmap->opacity()),
                                     &m_window);
    });
    file->addAction(tr("Import &annotations (QuPath, ASAP)..."), this, [this] {
        if (projectRoot().isEmpty()) {
            showError(tr("Import annotations"),
                      tr("Open a project first: annotations are imported into a project, matched to its slides "
                         "by file name."));
            return;
        }
        const QStringList files = QFileDialog::getOpenFileNames(&m_window, tr("Import annotations"), QString(),
                                                                tr("Annotations (*.geojson *.json *.xml);;All files (*)"));
        if (!files.isEmpty())
            importAnnotations(files);
    });
}

void ProjectWorkspace::addViewActions(QMenu *view)
{
    QAction *toggle = m_dock->toggleViewAction();
    toggle->setText(tr("Pro&ject"));
    view->addAction(toggle);
    QAction *training = m_trainingDock->toggleViewAction();
    training->setText(tr("T&raining"));
    view->addAction(training);
    QAction *attention = m_heatmapDock->toggleViewAction();
    attention->setText(tr("&Attention"));
    view->addAction(attention);
    QAction *annotations = m_annotationDock->toggleViewAction();
    annotations->setText(tr("A&nnotations"));
    view->addAction(annotations);
    view->addSeparator();
    QAction *contours = view->addAction(tr("&Tissue contours"));
    contours->setObjectName(QStringLiteral("tissueContoursAction"));
    contours->setCheckable(true);
    contours->setChecked(m_contours->isVisible());
    connect(contours, &QAction::toggled, m_contours, &ContourLayer::setVisible);
}

void ProjectWorkspace::onSlideShown(const QString &path)
{
    // Which project slide is it? (A slide opened from elsewhere has no overlays.)
    m_shownPath = path;
    m_slideId.clear();
    const std::filesystem::path shown = std::filesystem::absolute(path.toStdString()).lexically_normal();
    for (const project::CatalogSlide &slide : m_panel->catalog().slides) {
        if (!slide.path.empty() && std::filesystem::absolute(slide.path).lexically_normal() == shown) {
            m_slideId = QString::fromStdString(slide.slideId);
            break;
        }
    }
    m_contours->clear();
    m_annotationPanel->setSlide(projectRoot(), m_slideId);
    m_heatmapPanel->setMaps(nullptr, nullptr, nullptr);
    loadOverlays();
}

void ProjectWorkspace::loadOverlays()
{
    if (m_slideId.isEmpty()) {
        m_heatmapPanel->setStatus(tr("This slide is not in the open project: no attention to show."));
        return;
    }
    const project::ProjectCatalog &catalog = m_panel->catalog();
    if (catalog.predictionRun.empty() || catalog.predictionEncoder.empty()) {
        m_heatmapPanel->setStatus(tr("The project has no predictions yet: train or predict to see attention."));
    } else {
        const std::filesystem::path attentionFile
            = project::ProjectLayout(catalog.root).attentionFile(catalog.predictionEncoder, catalog.predictionRun, m_slideId.toStdString());
        const QString run = QString::fromStdString(catalog.predictionRun);
        const QString id = m_slideId;
        const HeatmapSettings settings = m_heatmapPanel->settings();
        m_heatmapPanel->setStatus(tr("Reading attention of run %1 ...").arg(run));
        const std::filesystem::path root = catalog.root;
        m_attentionWatcher.setFuture(QtConcurrent::run([attentionFile, run, id, settings, root] {
            Attention attention;
            attention.slideId = id;
            attention.file = QString::fromStdString(attentionFile.string());
            std::error_code error;
            if (!std::filesystem::exists(attentionFile, error)) {
                attention.status = tr("Run %1 has no attention map for %2.").arg(run, id);
                return attention;
            }
            try {
                const project::SlideAttention slide = project::readAttentionFile(attentionFile);
                if (slide.coords.empty()) {
                    attention.status = tr("Run %1 has no patches for %2.").arg(run, id);
                    return attention;
                }
                const HeatmapPanel::Maps maps = HeatmapPanel::mapsOf(slide, project::attentionPatchSize(slide), settings);
                attention.heatmap = maps.attention;
                attention.instance = maps.instance;
                // Pathologists' annotations of a positive class on this slide: does the attention find them?
                attention.localisation = localisationAgainstAnnotations(root, id.toStdString(), slide);
                attention.status = tr("Run %1: %2 patches, predicted %3.")
                                       .arg(run)
                                       .arg(slide.coords.size())
                                       .arg(slide.predicted >= 0 && slide.predicted < static_cast<int>(slide.classNames.size())
                                                ? QString::fromStdString(slide.classNames[static_cast<std::size_t>(slide.predicted)])
                                                : QString::number(slide.predicted));
            } catch (const std::exception &e) {
                attention.status = QString::fromStdString(e.what());
            }
            return attention;
        }));
    }
    const std::filesystem::path file = project::ProjectLayout(m_panel->catalog().root).tissueGeoJsonFile(m_slideId.toStdString());
    const QString slideId = m_slideId;
    m_contourWatcher.setFuture(QtConcurrent::run([file, slideId] {
        Contours contours;
        contours.slideId = slideId;
        std::error_code error;
        if (!std::filesystem::exists(file, error))
            return contours; // not preprocessed: nothing to outline
        try {
            contours.polygons = toQtPolygons(project::readGeoJsonPolygons(file));
        } catch (const std::exception &e) {
            contours.error = QString::fromStdString(e.what());
        }
        return contours;
    }));
}

void ProjectWorkspace::importAnnotations(const QStringList &files)
{
    std::vector<project::SlideEntry> slides;
    for (const project::CatalogSlide &slide : m_panel->catalog().slides)
        if (!slide.path.empty())
            slides.push_back({slide.slideId, slide.path});
    m_window.statusBar()->showMessage(tr("Importing annotations..."));
    m_annotationPanel->importFiles(projectRoot(), files, slides);
}

QString ProjectWorkspace::projectRoot() const
{
    return m_panel->projectRoot();
}

void ProjectWorkspace::openProject(const QString &root)
{
    m_window.statusBar()->showMessage(tr("Opening project %1 ...").arg(root));
    m_panel->openProject(QDir(root).absolutePath());
}

QString ProjectWorkspace::lastProject() const
{
    return QSettings().value(kLastProjectKey).toString();
}

void ProjectWorkspace::chooseProject()
{
    const QString root = QFileDialog::getExistingDirectory(&m_window, tr("Open project folder"), lastProject());
    if (!root.isEmpty())
        openProject(root);
}

void ProjectWorkspace::newProject()
{
    auto *dialog = new NewProjectDialog(&m_window);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] { openProject(dialog->projectFolder()); });
    dialog->open();
}

void ProjectWorkspace::tryDemo()
{
    tryDemo(project::demoRecipe(DemoProjectBuilder::defaultFolder().toStdString()).dataset);
}

void ProjectWorkspace::tryDemo(const project::SyntheticDatasetConfig &dataset)
{
    if (!m_demo->start(dataset))
        return; // already generating; its progress dialog is showing
    m_demoProgress = new QProgressDialog(tr("Generating the demo slides ..."), tr("Cancel"), 0, dataset.slides, &m_window);
    m_demoProgress->setObjectName(QStringLiteral("demoProgress"));
    m_demoProgress->setWindowTitle(tr("Try the demo"));
    m_demoProgress->setAttribute(Qt::WA_DeleteOnClose);
    m_demoProgress->setWindowModality(Qt::WindowModal);
    m_demoProgress->setAutoClose(false);
    m_demoProgress->setAutoReset(false);
    m_demoProgress->setMinimumDuration(0);
    connect(m_demoProgress, &QProgressDialog::canceled, m_demo, &DemoProjectBuilder::cancel);
    m_demoProgress->open();
}

void ProjectWorkspace::onDemoGenerated(const QString &root)
{
    if (m_demoProgress)
        m_demoProgress->close();
    m_demoOpening = true;
    openProject(root);
}

void ProjectWorkspace::showDemoWelcome()
{
    const project::ProjectCatalog &catalog = m_panel->catalog();
    for (const project::CatalogSlide &slide : catalog.slides) {
        if (!slide.path.empty()) {
            m_window.openSlide(QString::fromStdString(slide.path.string()));
            break;
        }
    }
    const QString text = catalog.predictionRun.empty()
        ? tr("The demo project is open: %1 synthetic slides, half of them with tumour regions, in %2.\n\n"
             "Press Train in the Training panel to run ICMIL on them (a few minutes on a CPU). The AUC charts "
             "fill as it runs; when it ends, predictions appear in the project table and attention heatmaps "
             "over the slides.")
        : tr("The demo project is open: %1 synthetic slides in %2, with the predictions and attention heatmaps "
             "of its last training run. Train runs ICMIL on it again.");
    auto *box = new QMessageBox(QMessageBox::Information, tr("Try the demo"),
                                text.arg(catalog.slides.size()).arg(QDir::toNativeSeparators(projectRoot())), QMessageBox::Ok, &m_window);
    box->setObjectName(QStringLiteral("demoWelcome"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

void ProjectWorkspace::applyPreferences(const Preferences &preferences)
{
    m_heatmapPanel->setColormapName(preferences.colormap);
    m_device = preferences.computeDevice;
    if (!m_training->isRunning()) {
        TrainingSettings training = m_training->settings();
        training.device = m_device.toStdString();
        m_training->setSettings(training);
    }
}

void ProjectWorkspace::onHeatmapLoaded()
{
    const Attention attention = m_attentionWatcher.result();
    if (attention.slideId != m_slideId)
        return; // another slide is shown by now
    m_heatmapPanel->setStatus(attention.localisation.isEmpty() ? attention.status
                                                               : attention.status + QLatin1Char(' ') + attention.localisation);
    m_attentionFile = attention.heatmap ? attention.file : QString();
    // The chosen map with the panel's current settings (they may have changed while reading), and its gallery.
    m_heatmapPanel->setMaps(attention.heatmap, attention.instance, m_window.viewer()->slide());
    Q_EMIT heatmapLoaded(attention.slideId);
}

void ProjectWorkspace::onCursorMoved(QPointF level0)
{
    const std::shared_ptr<const AttentionHeatmap> &heatmap = m_heatmap->heatmap();
    const std::optional<AttentionHeatmap::Hit> hit
        = heatmap && m_heatmap->isVisible() ? heatmap->hitAt(level0) : std::optional<AttentionHeatmap::Hit>();
    // The imported annotation under the mouse, if any, named with it.
    const QString annotation = m_annotations->isVisible() && level0.x() >= 0 ? m_annotations->classAt(level0) : QString();
    const QString annotationText = annotation.isEmpty() ? QString() : tr("Annotation: %1").arg(annotation);
    if (!hit) { // off the heatmap (or another slide, or none shown): no stale readout
        if (!annotationText.isEmpty())
            m_window.statusBar()->showMessage(annotationText);
        else if (HeatmapPanel::isReadout(m_window.statusBar()->currentMessage())
                 || m_window.statusBar()->currentMessage().startsWith(tr("Annotation: ")))
            m_window.statusBar()->clearMessage();
        return;
    }
    m_window.statusBar()->showMessage(HeatmapPanel::readout(*heatmap, *hit)
                                      + (annotationText.isEmpty() ? QString() : QStringLiteral("; ") + annotationText));
}

void ProjectWorkspace::chooseGeoJsonPath()
{
    if (m_attentionFile.isEmpty()) {
        showError(tr("Cannot export heatmap"), tr("The slide in view has no attention heatmap."));
        return;
    }
    const QString path = QFileDialog::getSaveFileName(&m_window, tr("Export heatmap as GeoJSON"),
                                                      QDir(projectRoot()).filePath(m_slideId + QStringLiteral("_attention.geojson")),
                                                      tr("GeoJSON (*.geojson *.json)"));
    if (!path.isEmpty())
        exportHeatmapGeoJson(path);
}

void ProjectWorkspace::exportHeatmapGeoJson(const QString &path)
{
    m_geoJsonPath = path;
    if (m_attentionFile.isEmpty() || m_geoJsonWatcher.isRunning()) {
        Q_EMIT heatmapExported(path,
                               m_attentionFile.isEmpty() ? tr("The slide in view has no attention heatmap.")
                                                         : tr("Another export is still being written"));
        return;
    }
    const std::string attentionFile = m_attentionFile.toStdString();
    // In QuPath's coordinates: a slide cropped to its bounds starts at their corner.
    const std::array<double, 2> offset
        = m_window.viewer()->slide() ? project::quPathOffset(*m_window.viewer()->slide()) : std::array<double, 2>{};
    m_geoJsonWatcher.setFuture(QtConcurrent::run([attentionFile, offset, out = path.toStdString()] {
        try {
            const project::SlideAttention slide = project::readAttentionFile(attentionFile);
            project::writeAttentionGeoJson(out, slide, project::attentionPatchSize(slide), offset);
            return QString();
        } catch (const std::exception &e) {
            return QString::fromStdString(e.what());
        }
    }));
}

void ProjectWorkspace::onProjectLoaded(const QString &root)
{
    QSettings().setValue(kLastProjectKey, root);
    if (root != std::exchange(m_loadedRoot, root)) { // another project, not a reload: show its docks
        m_dock->show();
        m_heatmapDock->show();
        m_annotationDock->show();
        if (m_trainingDock->isHidden()) {
            m_trainingDock->show();
            m_window.resizeDocks({m_trainingDock}, {m_window.height() * 2 / 5}, Qt::Vertical);
        }
    }
    // The training panel works on the same project: its slides, its labels CSV.
    const project::ProjectSettings &inputs = m_panel->catalog().settings;
    if (!m_training->isRunning() && QDir(m_training->project()) == QDir(root)) { // a reload keeps the charts, takes new inputs
        TrainingSettings training = m_training->settings();
        training.slides = inputs.slides;
        m_training->setSettings(training);
        project::IcmilLoopConfig base = m_training->baseConfig();
        base.labelsCsv = inputs.labelsCsv;
        m_training->setBaseConfig(base);
    } else if (!m_training->isRunning()) {
        project::IcmilLoopConfig base = TrainingSettings::defaultLoopConfig();
        base.labelsCsv = inputs.labelsCsv;
        m_training->setProject(root);
        TrainingSettings training = m_training->settings();
        training.slides = inputs.slides;
        training.device = m_device.toStdString();
        if (m_panel->catalog().demo) // trained as `icmil demo` does: the same loop, so Resume works
            training.applyDemoRecipe(project::demoRecipe(root.toStdString()), base);
        m_training->setBaseConfig(base);
        m_training->setSettings(training);
    }
    if (!m_shownPath.isEmpty())
        onSlideShown(m_shownPath); // the catalogue may have new predictions for it
    m_window.statusBar()->showMessage(tr("Project %1").arg(QDir::toNativeSeparators(root)), 10000);
    if (std::exchange(m_demoOpening, false))
        showDemoWelcome();
    if (project::slidesMissing(m_panel->catalog()) && !m_askedForSlides.contains(root)) {
        m_askedForSlides.append(root);
        askForSlides();
    }
    Q_EMIT projectOpened(root);
}

void ProjectWorkspace::askForSlides()
{
    const project::ProjectCatalog &catalog = m_panel->catalog();
    if (m_slidesBox)
        m_slidesBox->close();
    m_slidesBox = new QMessageBox(QMessageBox::Question, tr("Slides not found"),
                                  tr("The slides of project %1 are not in %2. Locate the folder that holds them (a folder of "
                                     "slides, or a dataset folder with slides/ and labels.csv)?")
                                      .arg(QDir::toNativeSeparators(QString::fromStdString(catalog.root.string())),
                                           QDir::toNativeSeparators(QString::fromStdString(catalog.settings.slides.string()))),
                                  QMessageBox::NoButton, &m_window);
    m_slidesBox->setObjectName(QStringLiteral("missingSlidesBox"));
    m_slidesBox->setAttribute(Qt::WA_DeleteOnClose);
    QPushButton *locate = m_slidesBox->addButton(tr("Locate slides..."), QMessageBox::AcceptRole);
    m_slidesBox->addButton(tr("Not now"), QMessageBox::RejectRole);
    connect(locate, &QPushButton::clicked, this, &ProjectWorkspace::locateSlides, Qt::QueuedConnection);
    m_slidesBox->open();
}

void ProjectWorkspace::locateSlides()
{
    const project::ProjectCatalog &catalog = m_panel->catalog();
    const QString folder = m_chooseSlidesFolder(QString::fromStdString(catalog.root.parent_path().string()));
    if (folder.isEmpty() || m_locateWatcher.isRunning())
        return;
    m_locatedFolder = folder;
    // The labels that come with the slides (a dataset folder), else the ones the project names.
    m_locateWatcher.setFuture(
        QtConcurrent::run([root = catalog.root, slides = std::filesystem::path(folder.toStdString()), labels = catalog.settings.labelsCsv] {
            try {
                std::error_code ec;
                const std::filesystem::path withSlides = slides / "labels.csv";
                project::recordProjectInputs(root, slides, std::filesystem::exists(withSlides, ec) ? withSlides : labels);
                return QString();
            } catch (const std::exception &e) {
                return QString::fromStdString(e.what());
            }
        }));
}

bool ProjectWorkspace::confirmClose()
{
    return !m_training->isRunning() || m_training->confirmStopOnClose();
}

void ProjectWorkspace::showError(const QString &title, const QString &message)
{
    m_window.statusBar()->showMessage(title);
    auto *box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, &m_window);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

} // namespace icmil::ui
