#include "ui/projectworkspace.h"

#include "ui/mainwindow.h"
#include "ui/project/newprojectdialog.h"
#include "ui/project/projectpanel.h"
#include "ui/viewer/contourlayer.h"
#include "ui/viewer/slideviewer.h"

#include "project/geojsonpolygons.h"
#include "project/projectlayout.h"

#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QtConcurrent>

#include <exception>
#include <filesystem>

namespace icmil::ui {

namespace {

const QString kLastProjectKey = QStringLiteral("project/last");

std::vector<std::vector<QPolygonF>> toPolygons(const std::vector<project::PolygonRings> &polygons)
{
    std::vector<std::vector<QPolygonF>> out;
    out.reserve(polygons.size());
    for (const project::PolygonRings &rings : polygons) {
        std::vector<QPolygonF> qrings;
        for (const project::Ring &ring : rings) {
            QPolygonF polygon;
            polygon.reserve(static_cast<qsizetype>(ring.size()));
            for (const auto &[x, y] : ring)
                polygon << QPointF(x, y);
            qrings.push_back(polygon);
        }
        out.push_back(std::move(qrings));
    }
    return out;
}

} // namespace

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
    m_slideId.clear();
    const std::filesystem::path shown = std::filesystem::absolute(path.toStdString()).lexically_normal();
    for (const project::CatalogSlide &slide : m_panel->catalog().slides) {
        if (!slide.path.empty() && std::filesystem::absolute(slide.path).lexically_normal() == shown) {
            m_slideId = QString::fromStdString(slide.slideId);
            break;
        }
    }
    m_contours->clear();
    loadOverlays();
}

void ProjectWorkspace::loadOverlays()
{
    if (m_slideId.isEmpty())
        return;
    const std::filesystem::path file =
        project::ProjectLayout(m_panel->catalog().root).tissueGeoJsonFile(m_slideId.toStdString());
    const QString slideId = m_slideId;
    m_contourWatcher.setFuture(QtConcurrent::run([file, slideId] {
        Contours contours;
        contours.slideId = slideId;
        std::error_code error;
        if (!std::filesystem::exists(file, error))
            return contours; // not preprocessed: nothing to outline
        try {
            contours.polygons = toPolygons(project::readGeoJsonPolygons(file));
        } catch (const std::exception &e) {
            contours.error = QString::fromStdString(e.what());
        }
        return contours;
    }));
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
