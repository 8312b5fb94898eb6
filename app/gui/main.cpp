// icmil-studio: the desktop application. main() and argument parsing only.
#include "engine/runtime.h"
#include "ui/mainwindow.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char **argv)
{
    icmil::engine::preferPassiveOpenMpWait(argv);
    Q_INIT_RESOURCE(resources); // icons live in the static ui library
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ICMIL Studio"));
    QApplication::setOrganizationName(QStringLiteral("ICMIL Studio"));
    QApplication::setApplicationVersion(QStringLiteral(ICMIL_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Whole-slide viewer and ICMIL multiple-instance learning studio"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption projectOption(QStringLiteral("project"),
                                           QStringLiteral("Project folder to open (made by the app or by `icmil`)"),
                                           QStringLiteral("dir"));
    parser.addOption(projectOption);
    parser.addPositionalArgument(QStringLiteral("slide"), QStringLiteral("Slide to open"), QStringLiteral("[slide]"));
    parser.process(app);

    icmil::engine::configureThreads(0);

    icmil::ui::MainWindow window;
    window.show();
    if (parser.isSet(projectOption))
        window.openProject(parser.value(projectOption));
    if (!parser.positionalArguments().isEmpty())
        window.openSlide(parser.positionalArguments().front());
    return QApplication::exec();
}
