// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/mainwindow.h"
#include "common/partialfile.h"

#include "slide/io/slidesource.h"
#include "project/backend/torchbackend.h"
#include "project/model/bundlepredictionconfig.h"
#include "ui/shell/aboutdialog.h"
#include "ui/shell/associatedimagesdialog.h"
#include "ui/shell/keyvaluetable.h"
#include "ui/shell/preferences.h"
#include "ui/shell/preferencesdialog.h"
#include "ui/project/applymodeldialog.h"
#include "ui/project/projectpanel.h"
#include "ui/project/projectworkspace.h"
#include "ui/shell/recentfiles.h"
#include "ui/shell/welcomepage.h"
#include "ui/viewer/minimapwidget.h"
#include "ui/viewer/slideviewer.h"

#include <QApplication>
#include <QBuffer>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QIcon>
#include <QImageWriter>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QStackedWidget>
#include <QStatusBar>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string_view>

namespace icmil::ui {

namespace {

// Writes `image` as PNG atomically: encoded in memory, then the code base's one atomic write
// (common/partialfile.h). Runs on a worker thread.
QString writePng(const QImage &image, const QString &path)
{
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QImageWriter writer(&buffer, "png");
    if (!writer.write(image))
        return QObject::tr("Cannot write '%1': %2").arg(path, writer.errorString());
    try {
        icmil::writeFileAtomically(std::filesystem::path(QFile::encodeName(path).toStdString()),
                                   std::string_view(bytes.constData(), static_cast<std::size_t>(bytes.size())));
    } catch (const std::runtime_error &e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

MainWindow::MainWindow(QWidget *parent) : QMainWindow(parent)
{
    setWindowTitle(QStringLiteral("ICMIL Studio"));
    setWindowIcon(QIcon(QStringLiteral(":/icmil/icmil-studio.svg")));
    setAcceptDrops(true);
    resize(1400, 900);

    m_viewer = new SlideViewer(this);
    m_welcome = new WelcomePage(this);
    m_centre = new QStackedWidget(this);
    m_centre->addWidget(m_welcome);
    m_centre->addWidget(m_viewer);
    setCentralWidget(m_centre);

    m_minimap = new MinimapWidget(this);
    m_minimapDock = new QDockWidget(tr("Overview"), this);
    m_minimapDock->setObjectName(QStringLiteral("minimapDock"));
    m_minimapDock->setWidget(m_minimap);
    addDockWidget(Qt::RightDockWidgetArea, m_minimapDock);

    m_properties = new KeyValueTable(tr("Property"), tr("Value"), this);
    m_properties->setObjectName(QStringLiteral("properties"));
    m_propertiesDock = new QDockWidget(tr("Slide properties"), this);
    m_propertiesDock->setObjectName(QStringLiteral("propertiesDock"));
    m_propertiesDock->setWidget(m_properties);
    addDockWidget(Qt::RightDockWidgetArea, m_propertiesDock);
    resizeDocks({m_minimapDock}, {300}, Qt::Horizontal);

    m_recent = new RecentFiles(this);
    m_workspace = new ProjectWorkspace(*this);
    createMenus();
    applyPreferences(Preferences::load());
    m_welcome->setLastProject(m_workspace->lastProject());
    connect(m_welcome, &WelcomePage::openSlideRequested, this, &MainWindow::chooseSlide);
    connect(m_welcome, &WelcomePage::newProjectRequested, m_workspace, &ProjectWorkspace::newProject);
    connect(m_welcome, &WelcomePage::demoRequested, m_workspace, qOverload<>(&ProjectWorkspace::tryDemo));
    connect(m_welcome, &WelcomePage::openProjectRequested, m_workspace, &ProjectWorkspace::chooseProject);
    connect(m_welcome, &WelcomePage::reopenRequested, this, &MainWindow::openProject);
    connect(m_workspace, &ProjectWorkspace::projectOpened, this, &MainWindow::updateCentre);

    m_magnificationLabel = new QLabel(this);
    m_magnificationLabel->setObjectName(QStringLiteral("magnification"));
    m_magnificationLabel->setMinimumWidth(70);
    m_positionLabel = new QLabel(this);
    m_positionLabel->setObjectName(QStringLiteral("cursorPosition"));
    m_positionLabel->setMinimumWidth(320);
    statusBar()->addPermanentWidget(m_positionLabel);
    statusBar()->addPermanentWidget(m_magnificationLabel);

    connect(&m_loader, &SlideInfoLoader::loaded, this, &MainWindow::showOverview);
    connect(&m_loader, &SlideInfoLoader::failed, this, &MainWindow::showError);
    connect(m_viewer, &SlideViewer::viewChanged, this, &MainWindow::onViewChanged);
    connect(m_viewer, &SlideViewer::cursorMoved, this, &MainWindow::onCursorMoved);
    connect(m_viewer, &SlideViewer::tileFailed, this,
            [this](const QString &message) { statusBar()->showMessage(tr("Some tiles could not be read: %1").arg(message)); });
    connect(m_minimap, &MinimapWidget::centerRequested, m_viewer, &SlideViewer::centerOn);
    connect(&m_exportWatcher, &QFutureWatcher<QString>::finished, this, &MainWindow::onExportFinished);
    connect(m_recent, &RecentFiles::openRequested, this, &MainWindow::openSlide);
    connect(m_recent, &RecentFiles::pruned, this, [this](const QStringList &removed) {
        QStringList names;
        for (const QString &path : removed)
            names.append(QFileInfo(path).fileName());
        statusBar()->showMessage(tr("Removed from Open Recent (file no longer found): %1").arg(names.join(QStringLiteral(", "))), 10000);
    });
    m_recent->pruneMissing();
    updateActions();
    updateCentre();
    statusBar()->showMessage(tr("Ready"));
}

MainWindow::~MainWindow() = default;

void MainWindow::createMenus()
{
    QMenu *file = menuBar()->addMenu(tr("&File"));
    m_workspace->addFileActions(file);
    file->addAction(tr("Apply &model to slides..."), this, &MainWindow::showApplyModel);
    file->addSeparator();
    file->addAction(tr("&Open slide..."), QKeySequence::Open, this, &MainWindow::chooseSlide);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    m_recentMenu->setObjectName(QStringLiteral("recentMenu"));
    m_recent->fillMenu(m_recentMenu);
    connect(m_recent, &RecentFiles::changed, this, [this] { m_recent->fillMenu(m_recentMenu); });
    connect(m_recentMenu, &QMenu::aboutToShow, m_recent, &RecentFiles::pruneMissing);
    file->addSeparator();
    m_slideActions.append(file->addAction(tr("&Export view as PNG..."), QKeySequence(tr("Ctrl+E")), this, &MainWindow::chooseExportPath));
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu *edit = menuBar()->addMenu(tr("&Edit"));
    QAction *preferences = edit->addAction(tr("&Preferences..."), this, &MainWindow::showPreferences);
    preferences->setShortcut(QKeySequence::Preferences);
    preferences->setMenuRole(QAction::PreferencesRole);

    QMenu *view = menuBar()->addMenu(tr("&View"));
    QAction *fit = view->addAction(tr("&Fit to window"), m_viewer, &SlideViewer::fitToWindow);
    fit->setShortcut(QKeySequence(Qt::Key_0));
    QAction *zoomIn = view->addAction(tr("Zoom &in"), m_viewer, &SlideViewer::zoomIn);
    zoomIn->setShortcuts({QKeySequence(Qt::Key_Plus), QKeySequence(Qt::Key_Equal), QKeySequence::ZoomIn});
    QAction *zoomOut = view->addAction(tr("Zoom &out"), m_viewer, &SlideViewer::zoomOut);
    zoomOut->setShortcuts({QKeySequence(Qt::Key_Minus), QKeySequence::ZoomOut});
    m_magnificationMenu = view->addMenu(tr("&Magnification"));
    m_magnificationMenu->setObjectName(QStringLiteral("magnificationMenu"));
    m_slideActions << fit << zoomIn << zoomOut << m_magnificationMenu->menuAction();
    view->addSeparator();
    QAction *toggleMinimap = m_minimapDock->toggleViewAction();
    toggleMinimap->setText(tr("O&verview"));
    view->addAction(toggleMinimap);
    QAction *toggleProperties = m_propertiesDock->toggleViewAction();
    toggleProperties->setText(tr("Slide &properties"));
    view->addAction(toggleProperties);
    m_workspace->addViewActions(view);

    QMenu *slide = menuBar()->addMenu(tr("&Slide"));
    m_slideActions.append(slide->addAction(tr("&Associated images..."), this, &MainWindow::showAssociatedImages));

    QMenu *help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("Try the &demo"), m_workspace, qOverload<>(&ProjectWorkspace::tryDemo));
    help->addSeparator();
    help->addAction(tr("&About ICMIL Studio"), this, &MainWindow::showAbout)->setMenuRole(QAction::AboutRole);
    help->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt)->setMenuRole(QAction::AboutQtRole);
}

void MainWindow::applyPreferences(const Preferences &preferences)
{
    m_viewer->setCacheBudget(static_cast<std::int64_t>(preferences.tileCacheMiB) << 20);
    m_viewer->setLoaderThreads(preferences.loaderThreads);
    project::setComputeThreads(preferences.computeThreads); // LibTorch gets it when loaded; a training worker adopts it at its next run
    m_workspace->applyPreferences(preferences);
}

void MainWindow::showPreferences()
{
    auto *dialog = new PreferencesDialog(Preferences::load(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        applyPreferences(dialog->preferences());
        statusBar()->showMessage(tr("Preferences saved"), 5000);
    });
    dialog->open();
}

void MainWindow::showAbout()
{
    auto *dialog = new AboutDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->open();
}

void MainWindow::showApplyModel()
{
    if (!m_applyModel) {
        m_applyModel = new ApplyModelDialog(this);
        m_applyModel->setAttribute(Qt::WA_DeleteOnClose);
        connect(m_applyModel, &ApplyModelDialog::projectReady, this, &MainWindow::openPredictions);
    }
    m_applyModel->show();
    m_applyModel->raise();
    m_applyModel->activateWindow();
}

ApplyModelDialog *MainWindow::applyModelDialog() const
{
    return m_applyModel;
}

void MainWindow::openPredictions(const QString &root, const QString &slide)
{
    ProjectPanel *panel = m_workspace->projectPanel();
    const QString absolute = QDir(root).absolutePath();
    auto loaded = std::make_shared<QMetaObject::Connection>();
    *loaded = connect(panel, &ProjectPanel::projectLoaded, this, [this, panel, loaded, absolute, slide](const QString &opened) {
        if (opened != absolute)
            return;
        disconnect(*loaded);
        const project::ProjectCatalog &catalog = panel->catalog();
        const bool hasModelRun = std::any_of(catalog.runs.begin(), catalog.runs.end(),
                                             [](const project::ProjectRun &run) { return run.name == project::kBundlePredictionRun; });
        // A project with other runs may show another (the best by validation): show runs/model/.
        const bool shown = catalog.predictionsFile.parent_path().filename() == project::kBundlePredictionRun;
        if (hasModelRun && !shown)
            panel->showRun(QString::fromLatin1(project::kBundlePredictionRun));
        if (!slide.isEmpty())
            openSlide(slide);
    });
    openProject(absolute);
}

bool MainWindow::isWelcomeShown() const
{
    return m_centre->currentWidget() == m_welcome;
}

void MainWindow::updateCentre()
{
    const bool welcome = !m_viewer->hasSlide() && m_workspace->projectRoot().isEmpty();
    m_centre->setCurrentWidget(welcome ? static_cast<QWidget *>(m_welcome) : m_viewer);
}

void MainWindow::updateActions()
{
    const bool hasSlide = m_viewer->hasSlide();
    for (QAction *action : std::as_const(m_slideActions))
        action->setEnabled(hasSlide);
}

void MainWindow::rebuildMagnificationMenu()
{
    m_magnificationMenu->clear();
    for (const double m : m_viewer->magnificationPresets()) {
        m_magnificationMenu->addAction(QStringLiteral("%1x").arg(m), m_viewer, [this, m] { m_viewer->setMagnification(m); });
    }
    if (m_magnificationMenu->isEmpty())
        m_magnificationMenu->addAction(tr("(objective power unknown)"))->setEnabled(false);
}

void MainWindow::openSlide(const QString &path)
{
    statusBar()->showMessage(tr("Opening %1 ...").arg(QFileInfo(path).fileName()));
    m_loader.load(path);
}

void MainWindow::openProject(const QString &root)
{
    m_workspace->openProject(root);
}

void MainWindow::chooseSlide()
{
    const QString path = QFileDialog::getOpenFileName(
        this, tr("Open slide"), QString(),
        tr("Slides and images (*.svs *.tif *.tiff *.ndpi *.vms *.vmu *.scn *.mrxs *.svslide *.bif *.png *.jpg *.jpeg);;"
           "All files (*)"));
    if (!path.isEmpty())
        openSlide(path);
}

void MainWindow::showOverview(const SlideOverview &overview)
{
    m_slidePath = overview.path;
    setWindowTitle(QStringLiteral("%1 - ICMIL Studio").arg(QFileInfo(overview.path).fileName()));
    m_viewer->setSlide(overview.source);
    updateCentre();
    m_viewer->setFocus();
    if (overview.source) {
        const slide::LevelInfo &base = overview.source->metadata().levels.front();
        m_minimap->setThumbnail(overview.overview, QSizeF(static_cast<double>(base.width), static_cast<double>(base.height)));
    } else {
        m_minimap->clear();
    }

    m_properties->setRows(overview.properties);
    m_recent->add(overview.path);
    rebuildMagnificationMenu();
    updateActions();
    onViewChanged();
    statusBar()->showMessage(overview.summary);
    Q_EMIT slideShown(overview.path);
}

void MainWindow::showError(const QString &path, const QString &message)
{
    statusBar()->showMessage(tr("Could not open %1").arg(QFileInfo(path).fileName()));
    m_recent->remove(path); // a recent entry that no longer opens is dropped from the list
    // Window-modal and non-blocking: the event loop (and any running work) carries on.
    auto *box = new QMessageBox(QMessageBox::Warning, tr("Cannot open slide"), message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
    Q_EMIT slideFailed(path, message);
}

void MainWindow::onViewChanged()
{
    m_minimap->setViewRect(m_viewer->hasSlide() ? std::as_const(*m_viewer).transform().visibleSlideRect() : QRectF());
    m_magnificationLabel->setText(m_viewer->magnificationText());
}

void MainWindow::onCursorMoved(QPointF level0)
{
    const QSizeF slide = std::as_const(*m_viewer).transform().slideSize();
    if (level0.x() < 0 || level0.y() < 0 || level0.x() >= slide.width() || level0.y() >= slide.height()) {
        m_positionLabel->clear();
        return;
    }
    QString text = tr("x %1, y %2 px").arg(static_cast<qint64>(level0.x())).arg(static_cast<qint64>(level0.y()));
    if (const std::optional<double> mpp = m_viewer->mpp())
        text += tr("  (%1, %2 µm)").arg(level0.x() * *mpp, 0, 'f', 1).arg(level0.y() * *mpp, 0, 'f', 1);
    m_positionLabel->setText(text);
}

void MainWindow::chooseExportPath()
{
    if (!m_viewer->hasSlide())
        return;
    const QFileInfo slide(m_slidePath);
    const QString suggested = slide.dir().filePath(slide.completeBaseName() + QStringLiteral("_view.png"));
    const QString path = QFileDialog::getSaveFileName(this, tr("Export view as PNG"), suggested, tr("PNG images (*.png)"));
    if (!path.isEmpty())
        exportView(path);
}

void MainWindow::exportView(const QString &path)
{
    if (m_exportWatcher.isRunning()) {
        Q_EMIT viewExported(path, tr("Another export is still being written"));
        return;
    }
    // Painting stays on the GUI thread (a few ms); encoding and writing go to a worker.
    const QImage image = m_viewer->renderView();
    m_exportPath = path;
    statusBar()->showMessage(tr("Writing %1 ...").arg(QFileInfo(path).fileName()));
    m_exportWatcher.setFuture(QtConcurrent::run([image, path] { return writePng(image, path); }));
}

void MainWindow::onExportFinished()
{
    const QString error = m_exportWatcher.result();
    if (error.isEmpty()) {
        statusBar()->showMessage(tr("Saved the view to %1").arg(m_exportPath), 10000);
    } else {
        statusBar()->showMessage(tr("Export failed"));
        auto *box = new QMessageBox(QMessageBox::Warning, tr("Cannot export view"), error, QMessageBox::Ok, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
    }
    Q_EMIT viewExported(m_exportPath, error);
}

void MainWindow::showAssociatedImages()
{
    if (!m_viewer->hasSlide())
        return;
    auto *dialog = new AssociatedImagesDialog(m_viewer->slide(), this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    if (!m_workspace->confirmClose()) {
        event->ignore();
        return;
    }
    QMainWindow::closeEvent(event);
}

void MainWindow::dragEnterEvent(QDragEnterEvent *event)
{
    if (event->mimeData()->hasUrls())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent *event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.front().isLocalFile())
        openSlide(urls.front().toLocalFile());
}

} // namespace icmil::ui
