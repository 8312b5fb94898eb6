// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <QStringList>

class QMenu;

namespace icmil::ui {

// The "Open Recent" list: the last kMax slides opened, newest first, kept in QSettings.
// Paths that no longer exist are dropped by pruneMissing(), which checks the files on a
// worker thread (a network share may take seconds to answer) and reports what it removed.
class RecentFiles : public QObject {
    Q_OBJECT
public:
    static constexpr int kMax = 10;

    explicit RecentFiles(QObject *parent = nullptr);

    QStringList paths() const { return m_paths; }
    void add(const QString &path);
    void remove(const QString &path);
    void clear();
    void pruneMissing();

    // Rebuilds `menu`: one entry per path (triggering openRequested), then "Clear list".
    void fillMenu(QMenu *menu);

Q_SIGNALS:
    void changed();
    void pruned(const QStringList &removed); // paths dropped because the files are gone
    void openRequested(const QString &path);

private:
    void save();
    void onPruned();

    QStringList m_paths;
    QFutureWatcher<QStringList> m_watcher; // the missing paths
};

} // namespace icmil::ui
