// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/shell/slideinfoloader.h"

#include <QFutureWatcher>
#include <QMainWindow>
#include <QPointF>
#include <QPointer>

class QAction;
class QDockWidget;
class QLabel;
class QMenu;
class QStackedWidget;
class QTableWidget;

namespace icmil::ui {

class ApplyModelDialog;
class KeyValueTable;
class MinimapWidget;
class ProjectWorkspace;
class RecentFiles;
class SlideViewer;
class WelcomePage;
struct Preferences;

// The application window: the tiled slide viewer in the centre, the overview (minimap) and the
// slide's properties in docks. Slides open from File > Open, Open Recent, drag and drop or the
// command line; the slide is opened off the GUI thread (SlideInfoLoader) and handed to the
// viewer. The status bar shows the magnification and the level-0 (and µm) position under the
// cursor. File > Export view writes the current view with its scale bar as PNG (on a worker).
// While no slide and no project is open, the centre shows the welcome page (Open slide, New
// project, Try the demo). Edit > Preferences and Help > About are here too.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget *parent = nullptr);
    ~MainWindow() override;

    void openSlide(const QString &path);
    void openProject(const QString &root); // the project dock lists its slides
    // Writes the current view (with overlays) as PNG off the GUI thread; reports viewExported.
    void exportView(const QString &path);
    // Applies preferences to the running app: viewer cache and readers, LibTorch's CPU threads,
    // training's device, the heatmap colours.
    void applyPreferences(const Preferences &preferences);
    void showPreferences();
    void showAbout();
    // File > Apply model to slides: the dialog (one at a time; shown again while it is open).
    void showApplyModel();
    ApplyModelDialog *applyModelDialog() const;
    // Opens a folder of predictions as a project showing run "model" (a bundle's predictions),
    // and `slide` (when given) in the viewer with its heatmap once the project is read.
    void openPredictions(const QString &root, const QString &slide);

    const SlideInfoLoader &loader() const { return m_loader; }
    SlideViewer *viewer() const { return m_viewer; }
    MinimapWidget *minimap() const { return m_minimap; }
    RecentFiles *recentFiles() const { return m_recent; }
    ProjectWorkspace *workspace() const { return m_workspace; }
    WelcomePage *welcomePage() const { return m_welcome; }
    bool isWelcomeShown() const; // the centre shows the welcome page, not the viewer

Q_SIGNALS:
    void slideShown(const QString &path);
    void slideFailed(const QString &path, const QString &message);
    void viewExported(const QString &path, const QString &error); // error empty: written

protected:
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dropEvent(QDropEvent *event) override;
    void closeEvent(QCloseEvent *event) override; // asks before stopping a training run

private:
    void createMenus();
    void chooseSlide();
    void chooseExportPath();
    void showAssociatedImages();
    void showOverview(const SlideOverview &overview);
    void showError(const QString &path, const QString &message);
    void onViewChanged();
    void onCursorMoved(QPointF level0);
    void onExportFinished();
    void rebuildMagnificationMenu();
    void updateActions();
    void updateCentre(); // the welcome page until a slide or a project is open

    SlideInfoLoader m_loader;
    QStackedWidget *m_centre = nullptr;
    WelcomePage *m_welcome = nullptr;
    SlideViewer *m_viewer = nullptr;
    MinimapWidget *m_minimap = nullptr;
    KeyValueTable *m_properties = nullptr;
    QDockWidget *m_minimapDock = nullptr;
    QDockWidget *m_propertiesDock = nullptr;
    RecentFiles *m_recent = nullptr;
    ProjectWorkspace *m_workspace = nullptr;
    QMenu *m_recentMenu = nullptr;
    QMenu *m_magnificationMenu = nullptr;
    QLabel *m_magnificationLabel = nullptr;
    QLabel *m_positionLabel = nullptr;
    QList<QAction *> m_slideActions; // enabled only while a slide is shown
    QString m_slidePath;
    QFutureWatcher<QString> m_exportWatcher; // the error message, empty on success
    QString m_exportPath;
    QPointer<ApplyModelDialog> m_applyModel;
};

} // namespace icmil::ui
