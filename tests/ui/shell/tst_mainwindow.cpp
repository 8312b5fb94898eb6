// SPDX-License-Identifier: GPL-3.0-or-later
#include "project/dataset/syntheticdataset.h"
#include "ui/shell/associatedimagesdialog.h"
#include "ui/shell/mainwindow.h"
#include "ui/shell/recentfiles.h"
#include "ui/viewer/minimapwidget.h"
#include "ui/viewer/slideviewer.h"

#include <QDockWidget>
#include <QImageReader>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMimeData>
#include <QMessageBox>
#include <QMouseEvent>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTableWidget>
#include <QTabWidget>
#include <QtTest>

#include <filesystem>

namespace fs = std::filesystem;

class TstMainWindow : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;

    QString slidePath() const { return QString::fromStdString((m_dir / "slides/slide_000.svs").string()); }

    // A window showing the fixture slide.
    void openFixture(icmil::ui::MainWindow &window)
    {
        window.show();
        QSignalSpy shown(&window, &icmil::ui::MainWindow::slideShown);
        window.openSlide(slidePath());
        QVERIFY(shown.wait(20000));
    }

private Q_SLOTS:
    void initTestCase()
    {
        // Settings (recent files) go to a test location, empty at the start.
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ICMIL Studio tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_mainwindow"));
        QSettings().clear();
        const QByteArray env = qgetenv("ICMIL_TEST_SCRATCH");
        m_dir = env.isEmpty() ? fs::temp_directory_path() / "icmil-tst_mainwindow" : fs::path(env.toStdString());
        icmil::project::SyntheticDatasetConfig c;
        c.outputDir = m_dir;
        c.slides = 1;
        c.width = 3000;
        c.height = 2000;
        c.positiveFraction = 1.0;
        icmil::project::SyntheticDataset(c).generate();
    }

    void opensSlideOffTheGuiThread()
    {
        icmil::ui::MainWindow window;
        window.show();
        QSignalSpy shown(&window, &icmil::ui::MainWindow::slideShown);
        const QString path = QString::fromStdString((m_dir / "slides/slide_000.svs").string());
        window.openSlide(path);
        QVERIFY(window.loader().isBusy() || shown.count() == 1); // returned before the work finished
        QVERIFY(shown.wait(20000));
        QCOMPARE(shown.takeFirst().at(0).toString(), path);

        auto *table = window.findChild<QTableWidget *>(QStringLiteral("properties"));
        QVERIFY(table != nullptr);
        bool foundMpp = false;
        for (int row = 0; row < table->rowCount(); ++row) {
            if (table->item(row, 0)->text() == QStringLiteral("openslide.mpp-x")) {
                foundMpp = true;
                QCOMPARE(table->item(row, 1)->text().toDouble(), 0.5);
            }
        }
        QVERIFY(foundMpp);
        QVERIFY(window.statusBar()->currentMessage().startsWith(QStringLiteral("aperio, 3000 x 2000, 3 level(s), 0.500")));

        // The viewer shows the slide opened by the loader; the minimap its overview.
        icmil::ui::SlideViewer *viewer = window.viewer();
        QVERIFY(!window.isWelcomeShown()); // the centre shows the viewer once a slide is open
        QVERIFY(viewer->isVisible());
        QVERIFY(viewer->hasSlide());
        QCOMPARE(std::as_const(*viewer).transform().slideSize(), QSizeF(3000, 2000));
        QTRY_VERIFY_WITH_TIMEOUT(viewer->isFrameComplete(), 20000);
        icmil::ui::MinimapWidget *minimap = window.minimap();
        QVERIFY(minimap->hasThumbnail());
        QVERIFY(window.findChild<QDockWidget *>(QStringLiteral("minimapDock")) != nullptr);
        QVERIFY(window.findChild<QDockWidget *>(QStringLiteral("propertiesDock")) != nullptr);
        QTRY_COMPARE(minimap->viewRect(), std::as_const(*viewer).transform().visibleSlideRect());
        auto *magnification = window.findChild<QLabel *>(QStringLiteral("magnification"));
        QCOMPARE(magnification->text(), viewer->magnificationText());
        QVERIFY(magnification->text().endsWith(QLatin1Char('x')));
    }

    void minimapMovesTheViewAndStatusShowsTheCursor()
    {
        icmil::ui::MainWindow window;
        openFixture(window);
        icmil::ui::SlideViewer *viewer = window.viewer();
        viewer->setMagnification(10.0); // zoomed in: the view is a part of the slide
        QCoreApplication::processEvents();
        icmil::ui::MinimapWidget *minimap = window.minimap();
        const QPointF target(750.0, 500.0);
        QTest::mouseClick(minimap, Qt::LeftButton, Qt::NoModifier, minimap->slideToWidget(target).toPoint());
        const QPointF centre = std::as_const(*viewer).transform().center();
        QVERIFY(std::abs(centre.x() - target.x()) < 20.0 && std::abs(centre.y() - target.y()) < 20.0);

        const QPointF pos(viewer->width() / 2.0, viewer->height() / 2.0);
        QMouseEvent move(QEvent::MouseMove, pos, viewer->mapToGlobal(pos), Qt::NoButton, Qt::NoButton, Qt::NoModifier);
        QCoreApplication::sendEvent(viewer, &move);
        auto *position = window.findChild<QLabel *>(QStringLiteral("cursorPosition"));
        QVERIFY2(position->text().contains(QStringLiteral(" µm")), qPrintable(position->text()));
        QVERIFY(position->text().startsWith(QStringLiteral("x ")));
    }

    void recentFilesRememberAndForget()
    {
        {
            icmil::ui::MainWindow window;
            openFixture(window);
            QCOMPARE(window.recentFiles()->paths().front(), slidePath());
            // A recent entry whose file is gone is dropped, with a message.
            const fs::path gone = m_dir / "gone.svs";
            fs::copy_file(m_dir / "slides/slide_000.svs", gone, fs::copy_options::overwrite_existing);
            QSignalSpy shown(&window, &icmil::ui::MainWindow::slideShown);
            window.openSlide(QString::fromStdString(gone.string()));
            QVERIFY(shown.wait(20000));
            QCOMPARE(window.recentFiles()->paths().size(), 2);
            fs::remove(gone);
        }
        icmil::ui::MainWindow window; // a new session reads the list and checks it
        QSignalSpy pruned(window.recentFiles(), &icmil::ui::RecentFiles::pruned);
        QVERIFY(pruned.wait(5000));
        QCOMPARE(pruned.takeFirst().at(0).toStringList().size(), 1);
        QCOMPARE(window.recentFiles()->paths(), QStringList{slidePath()});
        QVERIFY(window.statusBar()->currentMessage().contains(QStringLiteral("gone.svs")));
        auto *menu = window.findChild<QMenu *>(QStringLiteral("recentMenu"));
        QVERIFY(menu != nullptr);
        QVERIFY(menu->actions().front()->text().endsWith(QStringLiteral("slide_000.svs")));
    }

    void opensADroppedFile()
    {
        icmil::ui::MainWindow window;
        window.show();
        QSignalSpy shown(&window, &icmil::ui::MainWindow::slideShown);
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(slidePath())});
        const QPointF pos(100, 100);
        QDragEnterEvent enter(pos.toPoint(), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(&window, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(pos, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        QCoreApplication::sendEvent(&window, &drop);
        QVERIFY(shown.wait(20000));
        QCOMPARE(shown.takeFirst().at(0).toString(), slidePath());
    }

    void exportsTheViewAsPng()
    {
        icmil::ui::MainWindow window;
        openFixture(window);
        QTRY_VERIFY_WITH_TIMEOUT(window.viewer()->isFrameComplete(), 20000);
        QSignalSpy exported(&window, &icmil::ui::MainWindow::viewExported);
        const QString path = QString::fromStdString((m_dir / "view.png").string());
        window.exportView(path);
        QVERIFY(exported.wait(10000));
        QCOMPARE(exported.front().at(1).toString(), QString());
        QImageReader reader(path);
        QCOMPARE(reader.format(), QByteArray("png"));
        QCOMPARE(reader.size(), window.viewer()->size() * window.viewer()->devicePixelRatioF());

        window.exportView(QString::fromStdString((m_dir / "no-such-dir" / "view.png").string()));
        QVERIFY(exported.wait(10000));
        QVERIFY(!exported.last().at(1).toString().isEmpty());
        auto *box = window.findChild<QMessageBox *>();
        QVERIFY(box != nullptr);
        box->close();
    }

    void associatedImagesAreReadOffTheGuiThread()
    {
        icmil::ui::MainWindow window;
        openFixture(window);
        icmil::ui::AssociatedImagesDialog dialog(window.viewer()->slide());
        QSignalSpy loaded(&dialog, &icmil::ui::AssociatedImagesDialog::loaded);
        QVERIFY(dialog.isLoading() || loaded.count() == 1);
        QVERIFY(loaded.count() == 1 || loaded.wait(10000));
        const QStringList names = dialog.names();
        QVERIFY2(names.contains(QStringLiteral("label")) && names.contains(QStringLiteral("macro")),
                 qPrintable(names.join(QLatin1Char(','))));
        // Each picture fits its tab whole: a small dialog shows all of it, smaller.
        dialog.resize(320, 240);
        dialog.show();
        QVERIFY(QTest::qWaitForWindowExposed(&dialog));
        auto *tabs = dialog.findChild<QTabWidget *>();
        QVERIFY(tabs != nullptr);
        for (int i = 0; i < tabs->count(); ++i) {
            tabs->setCurrentIndex(i);
            QWidget *page = tabs->currentWidget();
            QCOMPARE(page->objectName(), QStringLiteral("fittedPicture"));
            QVERIFY2(page->width() <= 320 && page->height() <= 240,
                     qPrintable(QStringLiteral("%1x%2").arg(page->width()).arg(page->height())));
            QCOMPARE(page->childrenRect(), QRect()); // drawn, not a child label that could overflow
        }
    }

    void badFileShowsOneMessageAndAppKeepsRunning()
    {
        icmil::ui::MainWindow window;
        window.show();
        QSignalSpy failed(&window, &icmil::ui::MainWindow::slideFailed);
        const QString path = QString::fromStdString((m_dir / "labels.csv").string());
        window.openSlide(path);
        QVERIFY(failed.wait(20000));
        const QString expected
            = QStringLiteral("Cannot open slide '%1': not a whole-slide image or an image format this build can read").arg(path);
        QCOMPARE(failed.takeFirst().at(1).toString(), expected);
        auto *box = window.findChild<QMessageBox *>();
        QVERIFY(box != nullptr);
        QCOMPARE(box->text(), expected);
        box->close();

        // The window still works afterwards.
        QSignalSpy shown(&window, &icmil::ui::MainWindow::slideShown);
        window.openSlide(QString::fromStdString((m_dir / "slides/slide_000.svs").string()));
        QVERIFY(shown.wait(20000));
    }
};

QTEST_MAIN(TstMainWindow)
#include "tst_mainwindow.moc"
