// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/aboutdialog.h"

#include "ui/shell/keyvaluetable.h"

#include "common/licence.h"

#include <QApplication>
#include <QClipboard>
#include <QDialogButtonBox>
#include <QHBoxLayout>
#include <QIcon>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace icmil::ui {

AboutDialog::AboutDialog(QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("About ICMIL Studio"));
    auto *icon = new QLabel(this);
    icon->setPixmap(QIcon(QStringLiteral(":/icmil/icmil-studio.svg")).pixmap(96, 96));
    icon->setAlignment(Qt::AlignTop);
    auto *title = new QLabel(tr("<h2>ICMIL Studio %1</h2>").arg(QStringLiteral(ICMIL_VERSION)), this);
    auto *text = new QLabel(tr("A whole-slide image viewer and multiple-instance learning studio for computational pathology.<br>"
                               "It trains bag classifiers (ABMIL, MaxPool, DTFD-MIL) with ICMIL, Iteratively Coupled MIL "
                               "(Wang et al.; reference code <a href=\"https://github.com/Dootmaan/ICMIL\">github.com/Dootmaan/ICMIL</a>), "
                               "and draws their attention over the slides.<br>For research use, not for diagnosis.<br>%1")
                                .arg(QString::fromLatin1(kLicenceSentence)),
                            this);
    text->setWordWrap(true);
    text->setOpenExternalLinks(true);

    m_versions = new KeyValueTable(tr("Component"), tr("Version"), this);
    m_versions->setObjectName(QStringLiteral("versions"));
    m_versions->setSelectionMode(QAbstractItemView::NoSelection);
    m_versions->setRows({{tr("Looking up versions ..."), QString()}});

    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    QPushButton *copy = buttons->addButton(tr("&Copy versions"), QDialogButtonBox::ActionRole);
    copy->setObjectName(QStringLiteral("copyVersions"));
    copy->setEnabled(false);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(copy, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(m_text); });
    connect(this, &AboutDialog::versionsShown, copy, [copy] { copy->setEnabled(true); });

    auto *header = new QVBoxLayout;
    header->addWidget(title);
    header->addWidget(text);
    auto *top = new QHBoxLayout;
    top->addWidget(icon);
    top->addLayout(header, 1);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(m_versions, 1);
    layout->addWidget(buttons);
    resize(560, 480);

    connect(&m_watcher, &QFutureWatcher<QList<ComponentVersion>>::finished, this, &AboutDialog::showVersions);
    m_watcher.setFuture(QtConcurrent::run(componentVersions));
}

void AboutDialog::showVersions()
{
    const QList<ComponentVersion> components = m_watcher.result();
    QList<QPair<QString, QString>> rows;
    for (const ComponentVersion &component : components)
        rows.append({component.name, component.version});
    m_versions->setRows(rows);
    m_text = versionReport(components);
    Q_EMIT versionsShown();
}

} // namespace icmil::ui
