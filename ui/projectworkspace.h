#pragma once

#include <QObject>
#include <QString>

class QDockWidget;
class QMenu;

namespace icmil::ui {

class MainWindow;
class ProjectPanel;

// Everything the main window shows for a project, kept out of MainWindow: the project dock
// (slides, labels, predictions), File > New project / Open project, the last project reopened
// at start. Slides activated in the project open in the window's viewer.
class ProjectWorkspace : public QObject {
    Q_OBJECT
public:
    explicit ProjectWorkspace(MainWindow &window);

    void addFileActions(QMenu *file);
    void addViewActions(QMenu *view);
    void openProject(const QString &root);
    QString projectRoot() const;
    ProjectPanel *projectPanel() const { return m_panel; }

Q_SIGNALS:
    void projectOpened(const QString &root);

private:
    void chooseProject();
    void newProject();
    void onProjectLoaded(const QString &root);
    void showError(const QString &title, const QString &message);

    MainWindow &m_window;
    ProjectPanel *m_panel = nullptr;
    QDockWidget *m_dock = nullptr;
};

} // namespace icmil::ui
