// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/dataset/labelstable.h"
#include "project/dataset/slidelist.h"

#include <QDialog>
#include <QFutureWatcher>
#include <QTimer>

#include <memory>
#include <vector>

class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QTableWidget;

namespace icmil::ui {

// New project from a folder of slides and a labels CSV (CLAM layout case_id,slide_id,label
// [,split]). The inputs are checked on a worker thread as they change; every problem is listed
// with its CSV line (unknown label, missing or unreadable slide file, duplicate, malformed row);
// every slide is opened and a little of it read. Rows whose slide file is missing or unreadable
// are only left out (training goes on without them); any other problem keeps Create disabled
// until the CSV is fixed. Create writes <project>/icmil-project.json (on a worker) and accepts.
class NewProjectDialog : public QDialog {
    Q_OBJECT
public:
    explicit NewProjectDialog(QWidget *parent = nullptr);
    ~NewProjectDialog() override;

    void setProjectFolder(const QString &path);
    void setSlidesFolder(const QString &path);
    void setLabelsCsv(const QString &path);
    void setClassNames(const QString &commaSeparated);
    QString projectFolder() const;

    // The last check's findings (for tests and the table).
    const std::vector<project::LabelsIssue> &issues() const { return m_issues; }
    QString checkError() const { return m_checkError; }
    bool canCreate() const;
    bool isChecking() const { return m_checkWatcher.isRunning() || m_recheck.isActive(); }
    void create(); // what the Create button does

Q_SIGNALS:
    void checked();
    void createFailed(const QString &message);

private:
    struct Check {
        std::vector<project::LabelsIssue> issues;
        QString error;
    };
    void scheduleCheck();
    void startCheck();
    void onChecked();
    void browse(QLineEdit *edit, bool folder, const QString &filter);
    std::vector<std::string> classNames() const;

    QLineEdit *m_project = nullptr;
    QLineEdit *m_slides = nullptr;
    QLineEdit *m_labels = nullptr;
    QLineEdit *m_classes = nullptr;
    QTableWidget *m_table = nullptr;
    QLabel *m_status = nullptr;
    QDialogButtonBox *m_buttons = nullptr;
    QTimer m_recheck;
    QFutureWatcher<Check> m_checkWatcher;
    std::shared_ptr<project::SlideReadCache> m_readCache = std::make_shared<project::SlideReadCache>();
    QFutureWatcher<QString> m_createWatcher;
    std::vector<project::LabelsIssue> m_issues;
    QString m_checkError;
};

} // namespace icmil::ui
