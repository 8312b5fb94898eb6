// SPDX-License-Identifier: GPL-3.0-or-later
// TrainingWorker's failure path and bookkeeping, through its real named thread: a project the
// loop cannot use ends with exactly one failed(message) carrying the core's sentence (no
// finished/cancelled), on the "icmil-training" thread; the worker is idle again afterwards and
// takes the next run; stopAndWait on an idle worker returns at once.

#include "common/slidetestsupport.h"

#include "ui/training/trainingsettings.h"
#include "ui/training/trainingworker.h"

#include <QElapsedTimer>
#include <QSemaphore>
#include <QSignalSpy>
#include <QtTest>

#include <filesystem>
#include <fstream>

using namespace icmil;
using namespace icmil::ui;
namespace fs = std::filesystem;

class TstTrainingWorker : public QObject {
    Q_OBJECT
private:
    QThread m_thread;
    TrainingWorker *m_worker = nullptr;
    fs::path m_dir;

private Q_SLOTS:
    void initTestCase()
    {
        m_dir = test::scratchDir("tst_trainingworker");
        fs::remove_all(m_dir / "empty");
        fs::create_directories(m_dir / "empty");
        m_worker = new TrainingWorker;
        m_worker->moveToNamedThread(&m_thread);
    }

    void cleanupTestCase()
    {
        QVERIFY(m_worker->stopAndWait(10000));
        m_thread.quit();
        QVERIFY(m_thread.wait(10000));
        delete m_worker;
    }

    void failsWithTheCoreMessageOnItsThread()
    {
        QString threadName;
        const QMetaObject::Connection watch = connect(
            m_worker, &TrainingWorker::started, m_worker, [&threadName] { threadName = QThread::currentThread()->objectName(); },
            Qt::DirectConnection);
        QSignalSpy failed(m_worker, &TrainingWorker::failed);
        QSignalSpy finished(m_worker, &TrainingWorker::finished);
        QSignalSpy cancelled(m_worker, &TrainingWorker::cancelled);

        TrainingSettings settings;
        settings.projectRoot = m_dir / "empty";
        settings.device = "cpu";
        // Hold the worker's thread so the run stays queued while start() is checked.
        QSemaphore gate;
        QMetaObject::invokeMethod(
            m_worker, [&gate] { gate.acquire(); }, Qt::QueuedConnection);
        QVERIFY(m_worker->start(settings.loopConfig()));
        QVERIFY(m_worker->isRunning());
        QVERIFY(!m_worker->start(settings.loopConfig())); // one run at a time
        gate.release();
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
        const QString message = failed.at(0).at(0).toString();
        qInfo("failed: %s", qPrintable(message));
        QCOMPARE(message,
                 QStringLiteral("No labels CSV at '%1': the ICMIL loop needs case_id,slide_id,label[,split]")
                     .arg(QString::fromStdString((m_dir / "empty" / "labels.csv").string())));
        QVERIFY(!message.contains(QStringLiteral("Exception raised from"))); // no c10 backtrace
        QTest::qWait(50);
        QCOMPARE(finished.count(), 0);
        QCOMPARE(cancelled.count(), 0);
        disconnect(watch);
        QCOMPARE(threadName, QStringLiteral("icmil-training"));
        QCOMPARE(m_thread.objectName(), QStringLiteral("icmil-training"));
        QVERIFY(!m_worker->isRunning());

        // Idle again: the next run is taken (and fails the same way).
        QVERIFY(m_worker->start(settings.loopConfig()));
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 2, 30000);
        QCOMPARE(failed.at(1).at(0).toString(), message);
    }

    void stainReferenceRegionIsEstimatedOnTheWorkersThread()
    {
        // A stain reference typed as a slide region is estimated when the run starts, on the
        // worker's thread: a slide that is not there fails the run with the slide's message.
        QSignalSpy failed(m_worker, &TrainingWorker::failed);
        QSignalSpy logged(m_worker, &TrainingWorker::messageLogged);
        TrainingSettings settings;
        settings.projectRoot = m_dir / "empty";
        settings.device = "cpu";
        settings.stainMethod = "macenko";
        settings.stainReference = (m_dir / "missing.svs").string() + "@0,0,100,100";
        QVERIFY(m_worker->start(settings.loopConfig()));
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, 30000);
        QVERIFY2(failed.at(0).at(0).toString().contains(QStringLiteral("missing.svs")), qPrintable(failed.at(0).at(0).toString()));
        QVERIFY(!failed.at(0).at(0).toString().contains(QStringLiteral("labels")));
        QVERIFY(logged.count() >= 1);
        QCOMPARE(logged.at(0).at(0).toString(),
                 QStringLiteral("Estimating the reference stain from %1").arg(QString::fromStdString(settings.stainReference)));
    }

    void unknownModelFailsBeforeAnyThreadWork()
    {
        TrainingSettings settings;
        settings.model = "transformer";
        QVERIFY_THROWS_EXCEPTION(std::exception, settings.loopConfig());
    }

    void stopAndWaitWhenIdleReturnsAtOnce()
    {
        QElapsedTimer clock;
        clock.start();
        QVERIFY(m_worker->stopAndWait(5000));
        QVERIFY(clock.elapsed() < 100);
    }

    void missingStateReadsAsNone()
    {
        TrainingSettings settings;
        settings.projectRoot = m_dir / "empty";
        QSignalSpy inspected(m_worker, &TrainingWorker::stateInspected);
        m_worker->inspect(settings.loopConfig());
        QTRY_COMPARE_WITH_TIMEOUT(inspected.count(), 1, 10000);
        const auto state = inspected.at(0).at(0).value<LoopStateInfo>();
        QVERIFY(!state.exists);
        QCOMPARE(state.iterationsDone, 0);

        // A damaged state file is reported, not thrown.
        fs::create_directories(m_dir / "empty" / "icmil" / "icmil");
        std::ofstream(m_dir / "empty" / "icmil" / "icmil" / "state.json") << "{ not json";
        const LoopStateInfo damaged = TrainingWorker::readState(settings.loopConfig());
        QVERIFY(damaged.exists);
        QVERIFY(!damaged.error.isEmpty());
        fs::remove_all(m_dir / "empty" / "icmil");
    }
};

QTEST_MAIN(TstTrainingWorker)
#include "tst_trainingworker.moc"
