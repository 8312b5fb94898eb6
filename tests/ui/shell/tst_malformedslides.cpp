// SPDX-License-Identifier: GPL-3.0-or-later
// The bad-input slide corpus (tests/fixtures/malformed) opened in the app, one after another in
// one window: each shows its one exact error in a message box and the status bar, the window
// keeps working (a plain TIFF among them shows, and at the end the intact slide shows).
#include "common/slidetestsupport.h"
#include "fixtures/malformed/malformedcorpus.h"
#include "ui/shell/mainwindow.h"
#include "ui/viewer/slideviewer.h"

#include <QCoreApplication>
#include <QMessageBox>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QStatusBar>
#include <QtTest>

#include <filesystem>

using icmil::testing::MalformedFile;
namespace fs = std::filesystem;

class TstMalformedSlidesApp : public QObject {
    Q_OBJECT
private:
    fs::path m_dir;
    icmil::testing::MalformedCorpus m_corpus;

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QCoreApplication::setOrganizationName(QStringLiteral("ICMIL Studio tests"));
        QCoreApplication::setApplicationName(QStringLiteral("tst_malformedslides_app"));
        QSettings().clear();
        m_dir = icmil::test::scratchDir("tst_malformedslides_app");
        fs::remove_all(m_dir);
        m_corpus = icmil::testing::writeMalformedCorpus(m_dir / "corpus");
    }

    void eachFileShowsItsErrorAndTheAppGoesOn()
    {
        icmil::ui::MainWindow window;
        window.show();
        QSignalSpy failed(&window, &icmil::ui::MainWindow::slideFailed);
        QSignalSpy shown(&window, &icmil::ui::MainWindow::slideShown);
        for (const MalformedFile &file : m_corpus.files) {
            const QString path = QString::fromStdString((m_dir / "corpus" / file.name).string());
            failed.clear();
            shown.clear();
            window.openSlide(path);
            QTRY_VERIFY_WITH_TIMEOUT(failed.count() + shown.count() == 1, 20000);
            if (file.opens()) {
                QVERIFY2(shown.count() == 1, qPrintable(QString::fromStdString(file.name)));
                QCOMPARE(shown.takeFirst().at(0).toString(), path);
                const auto *viewer = window.findChild<icmil::ui::SlideViewer *>();
                QVERIFY(viewer != nullptr && viewer->hasSlide());
                continue;
            }
            QVERIFY2(failed.count() == 1, qPrintable(QString::fromStdString(file.name)));
            const QList<QVariant> arguments = failed.takeFirst();
            const QString expected = QString::fromStdString(file.error(path.toStdString()));
            QCOMPARE(arguments.at(0).toString(), path);
            QCOMPARE(arguments.at(1).toString(), expected);
            const QList<QMessageBox *> boxes = window.findChildren<QMessageBox *>();
            QCOMPARE(boxes.size(), 1);
            QCOMPARE(boxes.front()->text(), expected);
            QCOMPARE(window.statusBar()->currentMessage(), QStringLiteral("Could not open %1").arg(QString::fromStdString(file.name)));
            boxes.front()->close(); // deletes itself
            QTRY_COMPARE(window.findChildren<QMessageBox *>().size(), 0);
        }

        // The window still works afterwards.
        const QString intact = QString::fromStdString(m_corpus.intactSlide.string());
        window.openSlide(intact);
        QTRY_COMPARE_WITH_TIMEOUT(shown.count(), 1, 20000);
        QCOMPARE(shown.takeFirst().at(0).toString(), intact);
        QCOMPARE(window.windowTitle(), QStringLiteral("intact.svs - ICMIL Studio"));
    }
};

QTEST_MAIN(TstMalformedSlidesApp)
#include "tst_malformedslides.moc"
