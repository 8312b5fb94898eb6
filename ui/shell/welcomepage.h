// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QWidget>

class QPushButton;

namespace icmil::ui {

// What the window shows while no slide and no project is open (the first run, above all): Open
// slide, New project, Try the demo, Open project and, when there is one, the last project.
// It only asks; MainWindow does the work.
class WelcomePage : public QWidget {
    Q_OBJECT
public:
    explicit WelcomePage(QWidget *parent = nullptr);

    // The "Reopen <name>" button; hidden for an empty path.
    void setLastProject(const QString &root);

Q_SIGNALS:
    void openSlideRequested();
    void newProjectRequested();
    void demoRequested();
    void openProjectRequested();
    void reopenRequested(const QString &root);

private:
    QPushButton *m_reopen = nullptr;
    QString m_lastProject;
};

} // namespace icmil::ui
