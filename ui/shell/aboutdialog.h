// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/shell/componentversions.h"

#include <QDialog>
#include <QFutureWatcher>

namespace icmil::ui {

class KeyValueTable;

// Help > About: what ICMIL Studio is, and the versions of Qt, LibTorch, OpenSlide, OpenCV and
// libtiff it runs with, whether CUDA is usable (asked off the GUI thread: starting a CUDA driver
// can take a second), with a button that copies them for a bug report.
class AboutDialog : public QDialog {
    Q_OBJECT
public:
    explicit AboutDialog(QWidget *parent = nullptr);

    KeyValueTable *versionTable() const { return m_versions; }
    QString versionText() const { return m_text; } // empty until versionsShown

Q_SIGNALS:
    void versionsShown();

private:
    void showVersions();

    KeyValueTable *m_versions = nullptr;
    QFutureWatcher<QList<ComponentVersion>> m_watcher;
    QString m_text;
};

} // namespace icmil::ui
