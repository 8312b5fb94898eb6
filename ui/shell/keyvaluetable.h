// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <QList>
#include <QPair>
#include <QString>
#include <QTableWidget>

namespace icmil::ui {

// A read-only table of names and their values: a slide's properties, the libraries' versions.
class KeyValueTable : public QTableWidget {
    Q_OBJECT
public:
    KeyValueTable(const QString &keyHeader, const QString &valueHeader, QWidget *parent = nullptr);

    // Replaces the rows; the key column fits its contents.
    void setRows(const QList<QPair<QString, QString>> &rows);
};

} // namespace icmil::ui
