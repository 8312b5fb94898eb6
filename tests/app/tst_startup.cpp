// SPDX-License-Identifier: GPL-3.0-or-later
// LibTorch on demand (docs/ARCHITECTURE.md): icmil-studio shows a slide without LibTorch (or the
// Qt 5 libraries Debian's LibTorch brings) in its address space, and loads it when asked.
#include "project/dataset/syntheticdataset.h"

#include <QProcess>
#include <QProcessEnvironment>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

class TestStartup : public QObject {
    Q_OBJECT

    fs::path m_dir;
    fs::path m_slide;

    QProcessEnvironment environment(const QString &configName) const
    {
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("QT_QPA_PLATFORM"), QStringLiteral("offscreen"));
        env.insert(QStringLiteral("ICMIL_STARTUP_REPORT"), QStringLiteral("1"));
        // Fresh preferences: no recent project reopens.
        env.insert(QStringLiteral("XDG_CONFIG_HOME"), QString::fromStdString((m_dir / configName.toStdString()).string()));
        return env;
    }

    static std::string mapsOf(qint64 pid)
    {
        std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

private Q_SLOTS:
    void initTestCase()
    {
        const QByteArray env = qgetenv("ICMIL_TEST_SCRATCH");
        m_dir = env.isEmpty() ? fs::temp_directory_path() / "icmil-tst_startup" : fs::path(env.toStdString());
        fs::remove_all(m_dir);
        icmil::project::SyntheticDatasetConfig c;
        c.outputDir = m_dir / "data";
        c.slides = 1;
        c.width = 3000;
        c.height = 2000;
        icmil::project::SyntheticDataset(c).generate();
        m_slide = m_dir / "data" / "slides" / "slide_000.svs";
        QVERIFY(fs::exists(m_slide));
    }

    void showsASlideWithoutLibTorch()
    {
        QProcess app;
        app.setProcessEnvironment(environment(QStringLiteral("config-slide")));
        app.start(QStringLiteral(ICMIL_STUDIO), {QString::fromStdString(m_slide.string())});
        QVERIFY(app.waitForStarted(20000));
        QByteArray err;
        QElapsedTimer timer;
        timer.start();
        while (!err.contains("first frame at") && timer.elapsed() < 60000 && app.state() == QProcess::Running) {
            app.waitForReadyRead(200);
            err += app.readAllStandardError();
        }
        QVERIFY2(err.contains("first frame at"), err.constData());
        const std::string maps = mapsOf(app.processId());
        QVERIFY(maps.find("libQt6Widgets") != std::string::npos); // the probe reads the right process
        QVERIFY2(maps.find("libtorch") == std::string::npos, "LibTorch is loaded before any training");
        QVERIFY2(maps.find("libc10") == std::string::npos, "LibTorch's c10 is loaded before any training");
        QVERIFY2(maps.find("libQt5") == std::string::npos, "a Qt 5 library is loaded beside Qt 6");
        QVERIFY2(maps.find("libicmil_torch") == std::string::npos, "the LibTorch module is loaded before any training");
        app.kill();
        app.waitForFinished(10000);
    }

    void loadsLibTorchWhenAsked()
    {
        // --version reports the LibTorch it runs with: the module is found and loaded from the build.
        QProcess app;
        app.setProcessEnvironment(environment(QStringLiteral("config-version")));
        app.start(QStringLiteral(ICMIL_STUDIO), {QStringLiteral("--version")});
        QVERIFY(app.waitForFinished(60000));
        const QString out = QString::fromUtf8(app.readAllStandardOutput());
        QCOMPARE(app.exitCode(), 0);
        QVERIFY2(out.contains(QRegularExpression(QStringLiteral("^LibTorch \\d+\\.\\d+"), QRegularExpression::MultilineOption)),
                 qPrintable(out));
    }

    void saysWhyWhenTheModuleIsMissing()
    {
        QProcess app;
        QProcessEnvironment env = environment(QStringLiteral("config-missing"));
        env.insert(QStringLiteral("ICMIL_TORCH_MODULE"), QString::fromStdString((m_dir / "nowhere" / "libicmil_torch.so").string()));
        app.setProcessEnvironment(env);
        app.start(QStringLiteral(ICMIL_STUDIO), {QStringLiteral("--version")});
        QVERIFY(app.waitForFinished(60000));
        QCOMPARE(app.exitCode(), 0); // the report names the problem; the app does not fail
        const QString out = QString::fromUtf8(app.readAllStandardOutput());
        QVERIFY2(out.contains(QStringLiteral("LibTorch Cannot load LibTorch, which training needs: libicmil_torch.so is in none of")),
                 qPrintable(out));
    }
};

QTEST_GUILESS_MAIN(TestStartup)
#include "tst_startup.moc"
