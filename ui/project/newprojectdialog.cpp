// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/project/newprojectdialog.h"

#include "project/projectcatalog.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <algorithm>
#include <exception>

namespace icmil::ui {

NewProjectDialog::NewProjectDialog(QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("New project"));
    m_project = new QLineEdit(this);
    m_slides = new QLineEdit(this);
    m_labels = new QLineEdit(this);
    m_classes = new QLineEdit(this);
    m_classes->setPlaceholderText(tr("e.g. normal, tumor (empty: the labels the CSV holds)"));

    auto row = [this](QLineEdit *edit, bool folder, const QString &filter) {
        auto *box = new QHBoxLayout;
        auto *button = new QToolButton(this);
        button->setText(QStringLiteral("..."));
        connect(button, &QToolButton::clicked, this, [this, edit, folder, filter] { browse(edit, folder, filter); });
        box->addWidget(edit, 1);
        box->addWidget(button);
        return box;
    };
    auto *form = new QFormLayout;
    form->addRow(tr("Project folder:"), row(m_project, true, {}));
    form->addRow(tr("Slides folder:"), row(m_slides, true, {}));
    form->addRow(tr("Labels CSV:"), row(m_labels, false, tr("CSV files (*.csv)")));
    form->addRow(tr("Classes:"), m_classes);

    m_table = new QTableWidget(0, 2, this);
    m_table->setHorizontalHeaderLabels({tr("Line"), tr("Problem")});
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Cancel, this);
    m_buttons->addButton(tr("Create"), QDialogButtonBox::AcceptRole);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_table, 1);
    layout->addWidget(m_status);
    layout->addWidget(m_buttons);
    resize(720, 420);

    m_recheck.setSingleShot(true);
    m_recheck.setInterval(250); // typing: check once it pauses
    connect(&m_recheck, &QTimer::timeout, this, &NewProjectDialog::startCheck);
    for (QLineEdit *edit : {m_slides, m_labels, m_classes})
        connect(edit, &QLineEdit::textChanged, this, &NewProjectDialog::scheduleCheck);
    connect(m_project, &QLineEdit::textChanged, this, [this] { onChecked(); });
    connect(&m_checkWatcher, &QFutureWatcher<Check>::finished, this, &NewProjectDialog::onChecked);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &NewProjectDialog::create);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(&m_createWatcher, &QFutureWatcher<QString>::finished, this, [this] {
        const QString error = m_createWatcher.result();
        if (error.isEmpty()) {
            accept();
            return;
        }
        m_status->setText(error);
        Q_EMIT createFailed(error);
    });
    onChecked();
}

NewProjectDialog::~NewProjectDialog()
{
    m_checkWatcher.waitForFinished();
    m_createWatcher.waitForFinished();
}

void NewProjectDialog::setProjectFolder(const QString &path)
{
    m_project->setText(path);
}
void NewProjectDialog::setSlidesFolder(const QString &path)
{
    m_slides->setText(path);
}
void NewProjectDialog::setLabelsCsv(const QString &path)
{
    m_labels->setText(path);
}
void NewProjectDialog::setClassNames(const QString &commaSeparated)
{
    m_classes->setText(commaSeparated);
}
QString NewProjectDialog::projectFolder() const
{
    return m_project->text().trimmed();
}

std::vector<std::string> NewProjectDialog::classNames() const
{
    std::vector<std::string> names;
    for (const QString &name : m_classes->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        if (!name.trimmed().isEmpty())
            names.push_back(name.trimmed().toStdString());
    }
    return names;
}

void NewProjectDialog::browse(QLineEdit *edit, bool folder, const QString &filter)
{
    const QString path = folder ? QFileDialog::getExistingDirectory(this, tr("Choose a folder"), edit->text())
                                : QFileDialog::getOpenFileName(this, tr("Choose the labels CSV"), edit->text(), filter);
    if (!path.isEmpty())
        edit->setText(path);
}

void NewProjectDialog::scheduleCheck()
{
    m_recheck.start();
    onChecked(); // Create stays off until the new inputs are checked
}

void NewProjectDialog::startCheck()
{
    if (m_checkWatcher.isRunning()) { // answered when it finishes: check again then
        m_recheck.start();
        return;
    }
    const std::string slides = m_slides->text().trimmed().toStdString();
    const std::string labels = m_labels->text().trimmed().toStdString();
    const std::vector<std::string> classes = classNames();
    m_checkWatcher.setFuture(QtConcurrent::run([slides, labels, classes, cache = m_readCache] {
        Check check;
        if (slides.empty() || labels.empty()) {
            check.error = tr("Choose the slides folder and the labels CSV.");
            return check;
        }
        try {
            // Every slide is opened, once per file while it is unchanged (edits re-check often).
            check.issues = project::checkProjectInputs(slides, labels, classes,
                                                       [&cache](const std::filesystem::path &file) { return cache->problem(file); });
        } catch (const std::exception &e) {
            check.error = QString::fromStdString(e.what());
        }
        return check;
    }));
}

void NewProjectDialog::onChecked()
{
    if (sender() == &m_checkWatcher) {
        const Check check = m_checkWatcher.result();
        m_issues = check.issues;
        m_checkError = check.error;
        m_table->setRowCount(static_cast<int>(m_issues.size()));
        for (int i = 0; i < static_cast<int>(m_issues.size()); ++i) {
            const project::LabelsIssue &issue = m_issues[static_cast<std::size_t>(i)];
            auto *line = new QTableWidgetItem(QString::number(issue.line));
            auto *message = new QTableWidgetItem(QString::fromStdString(issue.message));
            if (issue.blocking)
                message->setForeground(QColor(0xc6, 0x28, 0x28));
            else if (issue.warning)
                message->setForeground(QColor(0xb2, 0x5e, 0x00));
            m_table->setItem(i, 0, line);
            m_table->setItem(i, 1, message);
        }
        Q_EMIT checked();
    }
    const auto blocking = std::count_if(m_issues.begin(), m_issues.end(), [](const auto &i) { return i.blocking; });
    const auto warnings = std::count_if(m_issues.begin(), m_issues.end(), [](const auto &i) { return i.warning; });
    const auto leftOut = static_cast<int>(m_issues.size()) - static_cast<int>(blocking) - static_cast<int>(warnings);
    QString status;
    if (isChecking())
        status = tr("Checking...");
    else if (!m_checkError.isEmpty())
        status = m_checkError;
    else if (blocking > 0)
        status = tr("%n row(s) must be fixed in the CSV before the project can be created.", nullptr, static_cast<int>(blocking));
    else if (!m_issues.empty()) {
        if (leftOut > 0)
            status = tr("%n row(s) will be left out of training: the slide file is missing or cannot be read.", nullptr, leftOut);
        if (warnings > 0)
            status += (status.isEmpty() ? QString() : QStringLiteral(" "))
                + tr("%n row(s) look unintended (in orange): check them before training.", nullptr, static_cast<int>(warnings));
    } else if (!m_slides->text().isEmpty())
        status = tr("Every row has its slide, and every slide opens.");
    if (projectFolder().isEmpty() && status.isEmpty())
        status = tr("Choose a project folder.");
    m_status->setText(status);
    for (QAbstractButton *button : m_buttons->buttons()) {
        if (m_buttons->buttonRole(button) == QDialogButtonBox::AcceptRole)
            button->setEnabled(canCreate());
    }
}

bool NewProjectDialog::canCreate() const
{
    const bool blocked = std::any_of(m_issues.begin(), m_issues.end(), [](const auto &i) { return i.blocking; });
    return !isChecking() && m_checkError.isEmpty() && !blocked && !projectFolder().isEmpty() && !m_slides->text().trimmed().isEmpty()
        && !m_labels->text().trimmed().isEmpty();
}

void NewProjectDialog::create()
{
    if (!canCreate() || m_createWatcher.isRunning())
        return;
    project::ProjectSettings settings;
    settings.slides = m_slides->text().trimmed().toStdString();
    settings.labelsCsv = m_labels->text().trimmed().toStdString();
    settings.classNames = classNames();
    const std::string root = projectFolder().toStdString();
    m_createWatcher.setFuture(QtConcurrent::run([root, settings] {
        try {
            project::writeProjectSettings(root, settings);
            return QString();
        } catch (const std::exception &e) {
            return QString::fromStdString(e.what());
        }
    }));
}

} // namespace icmil::ui
