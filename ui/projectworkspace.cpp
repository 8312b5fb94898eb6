#include "ui/projectworkspace.h"

#include "ui/mainwindow.h"
#include "ui/project/newprojectdialog.h"
#include "ui/project/projectpanel.h"

#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>

namespace icmil::ui {

namespace {
const QString kLastProjectKey = QStringLiteral("project/last");
}

ProjectWorkspace::ProjectWorkspace(MainWindow &window)
    : QObject(&window)
    , m_window(window)
{
    m_panel = new ProjectPanel(&window);
    m_dock = new QDockWidget(tr("Project"), &window);
    m_dock->setObjectName(QStringLiteral("projectDock"));
    m_dock->setWidget(m_panel);
    window.addDockWidget(Qt::LeftDockWidgetArea, m_dock);
    window.resizeDocks({m_dock}, {430}, Qt::Horizontal);

    connect(m_panel, &ProjectPanel::slideActivated, &window, [this](const QString &path) { m_window.openSlide(path); });
    connect(m_panel, &ProjectPanel::projectLoaded, this, &ProjectWorkspace::onProjectLoaded);
    connect(m_panel, &ProjectPanel::projectFailed, this,
            [this](const QString &, const QString &message) { showError(tr("Cannot open project"), message); });
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
}

void ProjectWorkspace::addViewActions(QMenu *view)
{
    QAction *toggle = m_dock->toggleViewAction();
    toggle->setText(tr("Pro&ject"));
    view->addAction(toggle);
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

void ProjectWorkspace::chooseProject()
{
    const QString root = QFileDialog::getExistingDirectory(&m_window, tr("Open project folder"),
                                                           QSettings().value(kLastProjectKey).toString());
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

void ProjectWorkspace::onProjectLoaded(const QString &root)
{
    QSettings().setValue(kLastProjectKey, root);
    m_dock->show();
    m_window.statusBar()->showMessage(tr("Project %1").arg(QDir::toNativeSeparators(root)), 10000);
    Q_EMIT projectOpened(root);
}

void ProjectWorkspace::showError(const QString &title, const QString &message)
{
    m_window.statusBar()->showMessage(title);
    auto *box = new QMessageBox(QMessageBox::Warning, title, message, QMessageBox::Ok, &m_window);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
}

} // namespace icmil::ui
