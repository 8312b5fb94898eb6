#include "ui/mainwindow.h"

#include <QApplication>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QIcon>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPixmap>
#include <QStatusBar>
#include <QTableWidget>

namespace icmil::ui {

MainWindow::MainWindow(QWidget *parent)
    : QMainWindow(parent)
{
    setWindowTitle(QStringLiteral("ICMIL Studio"));
    setWindowIcon(QIcon(QStringLiteral(":/icmil/icmil-studio.svg")));
    setAcceptDrops(true);
    resize(1280, 800);

    m_picture = new QLabel(this);
    m_picture->setObjectName(QStringLiteral("overview"));
    m_picture->setAlignment(Qt::AlignCenter);
    m_picture->setText(tr("Open a slide with File > Open or drop it here."));
    setCentralWidget(m_picture);

    m_properties = new QTableWidget(0, 2, this);
    m_properties->setObjectName(QStringLiteral("properties"));
    m_properties->setHorizontalHeaderLabels({tr("Property"), tr("Value")});
    m_properties->horizontalHeader()->setStretchLastSection(true);
    m_properties->verticalHeader()->hide();
    m_properties->setEditTriggers(QAbstractItemView::NoEditTriggers);
    auto *dock = new QDockWidget(tr("Slide properties"), this);
    dock->setObjectName(QStringLiteral("propertiesDock"));
    dock->setWidget(m_properties);
    addDockWidget(Qt::RightDockWidgetArea, dock);

    QMenu *file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("&Open slide..."), QKeySequence::Open, this, &MainWindow::chooseSlide);
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    connect(&m_loader, &SlideInfoLoader::loaded, this, &MainWindow::showOverview);
    connect(&m_loader, &SlideInfoLoader::failed, this, &MainWindow::showError);
    statusBar()->showMessage(tr("Ready"));
}

void MainWindow::openSlide(const QString &path)
{
    statusBar()->showMessage(tr("Opening %1 ...").arg(QFileInfo(path).fileName()));
    m_loader.load(path);
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
    setWindowTitle(QStringLiteral("%1 - ICMIL Studio").arg(QFileInfo(overview.path).fileName()));
    if (overview.overview.isNull())
        m_picture->setText(tr("No overview: the slide's coarsest level is too large to show whole."));
    else
        m_picture->setPixmap(QPixmap::fromImage(overview.overview));

    m_properties->setRowCount(static_cast<int>(overview.properties.size()));
    int row = 0;
    for (const auto &[key, value] : overview.properties) {
        m_properties->setItem(row, 0, new QTableWidgetItem(key));
        m_properties->setItem(row, 1, new QTableWidgetItem(value));
        ++row;
    }
    m_properties->resizeColumnToContents(0);
    statusBar()->showMessage(overview.summary);
    Q_EMIT slideShown(overview.path);
}

void MainWindow::showError(const QString &path, const QString &message)
{
    statusBar()->showMessage(tr("Could not open %1").arg(QFileInfo(path).fileName()));
    // Window-modal and non-blocking: the event loop (and any running work) carries on.
    auto *box = new QMessageBox(QMessageBox::Warning, tr("Cannot open slide"), message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
    Q_EMIT slideFailed(path, message);
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
