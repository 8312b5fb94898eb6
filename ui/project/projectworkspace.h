// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/dataset/syntheticdataset.h"

#include <QFutureWatcher>
#include <QMessageBox>
#include <QObject>
#include <QPointF>
#include <QPointer>
#include <QPolygonF>
#include <QString>
#include <QStringList>

#include <functional>
#include <memory>
#include <vector>

class QDockWidget;
class QMenu;
class QProgressDialog;

namespace icmil::ui {

class AnnotationLayer;
class AnnotationPanel;
class AttentionHeatmap;
class ContourLayer;
class HighlightLayer;
class DemoProjectBuilder;
class HeatmapLayer;
class HeatmapPanel;
class MainWindow;
class ProjectPanel;
class TrainingPanel;
class TissuePreview;
struct Preferences;

// Everything the main window shows for a project, kept out of MainWindow: the project dock
// (slides, labels, predictions), File > New project / Open project, the overlays of a project
// slide shown in the viewer (tissue contours from preprocessing, read off the GUI thread).
// Slides activated in the project open in the window's viewer. "Try the demo" generates the demo
// dataset (with progress, cancellable) and opens it with its first slide; a demo project trains
// with the demo recipe's settings.
class ProjectWorkspace : public QObject {
    Q_OBJECT
public:
    explicit ProjectWorkspace(MainWindow &window);

    void addFileActions(QMenu *file);
    void addViewActions(QMenu *view);
    void openProject(const QString &root);
    void chooseProject(); // File > Open project
    void newProject();    // File > New project
    QString projectRoot() const;
    QString lastProject() const; // the project opened last (in this or an earlier session), or ""
    // Generates `dataset` (the demo recipe's in the user data folder by default) and opens it.
    void tryDemo();
    void tryDemo(const project::SyntheticDatasetConfig &dataset);
    DemoProjectBuilder *demoBuilder() const { return m_demo; }
    // The training device and the heatmap colours (a run under way keeps its device).
    void applyPreferences(const Preferences &preferences);
    ProjectPanel *projectPanel() const { return m_panel; }
    TrainingPanel *trainingPanel() const { return m_training; }
    // Whether the window may close now: asks to stop a training run under way (and stops it).
    bool confirmClose();
    ContourLayer *contourLayer() const { return m_contours; }
    TissuePreview *tissuePreview() const { return m_tissuePreview; }
    AnnotationLayer *annotationLayer() const { return m_annotations; }
    AnnotationPanel *annotationPanel() const { return m_annotationPanel; }
    // File > Import annotations...: these files (or folders) into the open project.
    void importAnnotations(const QStringList &files);
    HighlightLayer *highlightLayer() const { return m_highlight; }
    HeatmapLayer *heatmapLayer() const { return m_heatmap; }
    HeatmapPanel *heatmapPanel() const { return m_heatmapPanel; }
    // Writes the shown slide's attention as QuPath GeoJSON (off the GUI thread): heatmapExported.
    void exportHeatmapGeoJson(const QString &path);
    QString shownSlideId() const { return m_slideId; } // the project slide in the viewer, or ""
    // A project whose slides are not where it says (project::slidesMissing) asks for their
    // folder once per session: a message box (missingSlidesBox) whose "Locate slides..." opens
    // this chooser (a folder dialog; tests set their own); the folder is recorded in the
    // project's settings off the GUI thread (slidesLocated) and the project reloaded.
    void setSlidesFolderChooser(std::function<QString(const QString &start)> choose) { m_chooseSlidesFolder = std::move(choose); }
    QMessageBox *missingSlidesBox() const { return m_slidesBox; }
    void locateSlides(); // "Locate slides..."

Q_SIGNALS:
    void projectOpened(const QString &root);
    void overlaysLoaded(const QString &slideId); // tissue contours of the shown slide
    void heatmapLoaded(const QString &slideId);  // its attention heatmap (or why there is none)
    void heatmapExported(const QString &path, const QString &error);
    void slidesLocated(const QString &folder, const QString &error); // error empty: recorded

private:
    void onDemoGenerated(const QString &root);
    void showDemoWelcome(); // the demo project's first slide, and what to do next
    void onProjectLoaded(const QString &root);
    void askForSlides();
    void showError(const QString &title, const QString &message);
    void onSlideShown(const QString &path);
    void loadOverlays();

    void onHeatmapLoaded();
    void onCursorMoved(QPointF level0);
    void chooseGeoJsonPath();

    struct Attention {
        QString slideId;
        std::shared_ptr<const AttentionHeatmap> heatmap;
        QString file;         // the attention file read
        QString status;       // what the panel says: the run and patch count, or why there is none
        QString localisation; // against the slide's imported annotations of a positive class, or ""
        // The instance view, when the file has instance scores.
        std::shared_ptr<const AttentionHeatmap> instance;
    };
    struct Contours {
        QString slideId;
        std::vector<std::vector<QPolygonF>> polygons;
        QString error; // empty also when the slide simply has none
    };

    MainWindow &m_window;
    ProjectPanel *m_panel = nullptr;
    QDockWidget *m_dock = nullptr;
    TrainingPanel *m_training = nullptr;
    QDockWidget *m_trainingDock = nullptr;
    QString m_shownPath;  // the slide in the viewer
    QString m_loadedRoot; // the project loaded last
    ContourLayer *m_contours = nullptr;
    ContourLayer *m_tissuePreviewLayer = nullptr;
    AnnotationLayer *m_annotations = nullptr;
    AnnotationPanel *m_annotationPanel = nullptr;
    QDockWidget *m_annotationDock = nullptr;
    TissuePreview *m_tissuePreview = nullptr;
    HighlightLayer *m_highlight = nullptr;
    QString m_slideId;
    QFutureWatcher<Contours> m_contourWatcher;
    HeatmapLayer *m_heatmap = nullptr;
    HeatmapPanel *m_heatmapPanel = nullptr;
    QDockWidget *m_heatmapDock = nullptr;
    QFutureWatcher<Attention> m_attentionWatcher;
    QString m_attentionFile;
    QFutureWatcher<QString> m_geoJsonWatcher;
    QString m_geoJsonPath;
    DemoProjectBuilder *m_demo = nullptr;
    QPointer<QProgressDialog> m_demoProgress;
    bool m_demoOpening = false;                // the demo project is being opened: show its first slide
    QString m_device = QStringLiteral("auto"); // Preferences > Device
    std::function<QString(const QString &)> m_chooseSlidesFolder;
    QPointer<QMessageBox> m_slidesBox;
    QStringList m_askedForSlides; // projects asked about in this session
    QFutureWatcher<QString> m_locateWatcher;
    QString m_locatedFolder;
};

} // namespace icmil::ui
