// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/recentfiles.h"

#include <QFileInfo>
#include <QMenu>
#include <QSettings>
#include <QtConcurrent/QtConcurrentRun>

namespace icmil::ui {

namespace {

const QString kSettingsKey = QStringLiteral("recentFiles");

} // namespace

RecentFiles::RecentFiles(QObject *parent) : QObject(parent)
{
    m_paths = QSettings().value(kSettingsKey).toStringList();
    m_paths.removeAll(QString());
    while (m_paths.size() > kMax)
        m_paths.removeLast();
    connect(&m_watcher, &QFutureWatcher<QStringList>::finished, this, &RecentFiles::onPruned);
}

void RecentFiles::add(const QString &path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    m_paths.removeAll(absolute);
    m_paths.prepend(absolute);
    while (m_paths.size() > kMax)
        m_paths.removeLast();
    save();
}

void RecentFiles::remove(const QString &path)
{
    if (m_paths.removeAll(QFileInfo(path).absoluteFilePath()) + m_paths.removeAll(path) > 0)
        save();
}

void RecentFiles::clear()
{
    m_paths.clear();
    save();
}

void RecentFiles::pruneMissing()
{
    if (m_watcher.isRunning() || m_paths.isEmpty())
        return;
    m_watcher.setFuture(QtConcurrent::run([paths = m_paths] {
        QStringList missing;
        for (const QString &path : paths) {
            if (!QFileInfo::exists(path))
                missing.append(path);
        }
        return missing;
    }));
}

void RecentFiles::onPruned()
{
    const QStringList missing = m_watcher.result();
    QStringList removed;
    for (const QString &path : missing) {
        if (m_paths.removeAll(path) > 0)
            removed.append(path);
    }
    if (removed.isEmpty())
        return;
    save();
    Q_EMIT pruned(removed);
}

void RecentFiles::save()
{
    QSettings().setValue(kSettingsKey, m_paths);
    Q_EMIT changed();
}

void RecentFiles::fillMenu(QMenu *menu)
{
    menu->clear();
    int number = 1;
    for (const QString &path : std::as_const(m_paths)) {
        // "&1 name.svs" ... "1&0 name.svs": keyboard accelerators for the first ten.
        const QString mnemonic = number < 10 ? QStringLiteral("&%1").arg(number) : QStringLiteral("1&0");
        QAction *action = menu->addAction(QStringLiteral("%1 %2").arg(mnemonic, QFileInfo(path).fileName()));
        action->setToolTip(path);
        action->setStatusTip(path);
        connect(action, &QAction::triggered, this, [this, path] { Q_EMIT openRequested(path); });
        ++number;
    }
    if (m_paths.isEmpty())
        menu->addAction(tr("(none)"))->setEnabled(false);
    menu->addSeparator();
    QAction *clearAction = menu->addAction(tr("&Clear list"), this, &RecentFiles::clear);
    clearAction->setEnabled(!m_paths.isEmpty());
}

} // namespace icmil::ui
