#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <QPolygonF>
#include <QString>

#include <vector>

class QDockWidget;
class QMenu;

namespace icmil::ui {

class ContourLayer;
class MainWindow;
class ProjectPanel;

// Everything the main window shows for a project, kept out of MainWindow: the project dock
// (slides, labels, predictions), File > New project / Open project, the overlays of a project
// slide shown in the viewer (tissue contours from preprocessing, read off the GUI thread).
// Slides activated in the project open in the window's viewer.
class ProjectWorkspace : public QObject {
    Q_OBJECT
public:
    explicit ProjectWorkspace(MainWindow &window);

    void addFileActions(QMenu *file);
    void addViewActions(QMenu *view);
    void openProject(const QString &root);
    QString projectRoot() const;
    ProjectPanel *projectPanel() const { return m_panel; }
    ContourLayer *contourLayer() const { return m_contours; }
    QString shownSlideId() const { return m_slideId; } // the project slide in the viewer, or ""

Q_SIGNALS:
    void projectOpened(const QString &root);
    void overlaysLoaded(const QString &slideId); // contours (and later heatmap) for the shown slide

private:
    void chooseProject();
    void newProject();
    void onProjectLoaded(const QString &root);
    void showError(const QString &title, const QString &message);
    void onSlideShown(const QString &path);
    void loadOverlays();

    struct Contours {
        QString slideId;
        std::vector<std::vector<QPolygonF>> polygons;
        QString error; // empty also when the slide simply has none
    };

    MainWindow &m_window;
    ProjectPanel *m_panel = nullptr;
    QDockWidget *m_dock = nullptr;
    ContourLayer *m_contours = nullptr;
    QString m_slideId;
    QFutureWatcher<Contours> m_contourWatcher;
};

} // namespace icmil::ui
