// SPDX-License-Identifier: GPL-3.0-or-later
// icmil-studio: the desktop application. main() and argument parsing only.
#include "engine/runtime/runtimeinfo.h"
#include "project/backend/torchbackend.h"
#include "ui/shell/componentversions.h"
#include "ui/shell/mainwindow.h"
#include "ui/shell/preferences.h"
#include "ui/viewer/slideviewer.h"

#include <QApplication>
#include <QCommandLineParser>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>

namespace {

// --version and --help only print: they must work without a display (a package check, a server),
// so they get a QCoreApplication, which loads no platform plugin.
bool onlyPrints(int argc, char **argv)
{
    for (int i = 1; i < argc; ++i) {
        for (const char *flag : {"-v", "--version", "-h", "--help", "--help-all", "-?"}) {
            if (std::strcmp(argv[i], flag) == 0)
                return true;
        }
    }
    return false;
}

// ICMIL_STARTUP_REPORT=1: one line on stderr when the first slide frame is complete, with
// CLOCK_MONOTONIC then, so that a launcher (icmil-startup-bench) measures start to first frame.
void reportFirstFrame(icmil::ui::MainWindow &window)
{
    const char *flag = std::getenv("ICMIL_STARTUP_REPORT");
    if (flag == nullptr || std::strcmp(flag, "1") != 0)
        return;
    auto *connection = new QMetaObject::Connection;
    *connection = QObject::connect(window.viewer(), &icmil::ui::SlideViewer::frameCompleted, &window, [connection] {
        timespec now{};
        clock_gettime(CLOCK_MONOTONIC, &now);
        std::fprintf(stderr, "icmil-studio: first frame at %lld ns (CLOCK_MONOTONIC)\n",
                     static_cast<long long>(now.tv_sec) * 1000000000LL + now.tv_nsec);
        std::fflush(stderr);
        QObject::disconnect(*connection);
        delete connection;
    });
}

} // namespace

int main(int argc, char **argv)
{
    icmil::engine::preferPassiveOpenMpWait(argv);
    Q_INIT_RESOURCE(resources); // icons live in the static ui library
    const std::unique_ptr<QCoreApplication> app
        = onlyPrints(argc, argv) ? std::make_unique<QCoreApplication>(argc, argv) : std::make_unique<QApplication>(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ICMIL Studio"));
    QApplication::setOrganizationName(QStringLiteral("ICMIL Studio"));
    QApplication::setApplicationVersion(QStringLiteral(ICMIL_VERSION));
    QGuiApplication::setDesktopFileName(QStringLiteral("studio.icmil.IcmilStudio")); // packaging/'s .desktop file

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Whole-slide viewer and ICMIL multiple-instance learning studio"));
    parser.addHelpOption();
    const QCommandLineOption versionOption({QStringLiteral("v"), QStringLiteral("version")},
                                           QStringLiteral("Displays version information: of the app and of the libraries it runs with."));
    parser.addOption(versionOption);
    const QCommandLineOption projectOption(QStringLiteral("project"),
                                           QStringLiteral("Project folder to open (made by the app or by `icmil`)"), QStringLiteral("dir"));
    parser.addOption(projectOption);
    parser.addPositionalArgument(QStringLiteral("slide"), QStringLiteral("Slide to open"), QStringLiteral("[slide]"));
    parser.process(*app);
    if (parser.isSet(versionOption)) {
        icmil::project::setComputeThreads(icmil::ui::Preferences::load().computeThreads); // as the app would run
        std::fputs(qPrintable(icmil::ui::versionReport(icmil::ui::componentVersions())), stdout);
        return 0;
    }

    icmil::ui::MainWindow window; // applies the preferences: LibTorch's threads among them
    reportFirstFrame(window);
    window.show();
    if (parser.isSet(projectOption))
        window.openProject(parser.value(projectOption));
    if (!parser.positionalArguments().isEmpty())
        window.openSlide(parser.positionalArguments().front());
    return QApplication::exec();
}
