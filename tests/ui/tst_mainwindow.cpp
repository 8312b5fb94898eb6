#include "project/syntheticdataset.h"
#include "ui/mainwindow.h"

#include <QLabel>
#include <QMessageBox>
#include <QSignalSpy>
#include <QStatusBar>
#include <QTableWidget>
#include <QtTest>

#include <filesystem>

namespace fs = std::filesystem;

class TstMainWindow : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;

private Q_SLOTS:
    void initTestCase()
    {
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
        auto *picture = window.findChild<QLabel *>(QStringLiteral("overview"));
        QVERIFY(!picture->pixmap().isNull());
        QCOMPARE(picture->pixmap().width(), 1024); // level 0 (3000 px) scaled to the overview size
        QVERIFY(window.statusBar()->currentMessage().startsWith(QStringLiteral("aperio, 3000 x 2000, 3 level(s), 0.500")));
    }

    void badFileShowsOneMessageAndAppKeepsRunning()
    {
        icmil::ui::MainWindow window;
        window.show();
        QSignalSpy failed(&window, &icmil::ui::MainWindow::slideFailed);
        const QString path = QString::fromStdString((m_dir / "labels.csv").string());
        window.openSlide(path);
        QVERIFY(failed.wait(20000));
        const QString expected =
            QStringLiteral("Cannot open slide '%1': not a whole-slide image or an image format this build can read").arg(path);
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
