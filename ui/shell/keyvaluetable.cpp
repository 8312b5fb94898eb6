// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/shell/keyvaluetable.h"

#include <QHeaderView>

namespace icmil::ui {

KeyValueTable::KeyValueTable(const QString &keyHeader, const QString &valueHeader, QWidget *parent) : QTableWidget(0, 2, parent)
{
    setHorizontalHeaderLabels({keyHeader, valueHeader});
    horizontalHeader()->setStretchLastSection(true);
    verticalHeader()->hide();
    setEditTriggers(QAbstractItemView::NoEditTriggers);
}

void KeyValueTable::setRows(const QList<QPair<QString, QString>> &rows)
{
    setRowCount(static_cast<int>(rows.size()));
    for (int row = 0; row < rows.size(); ++row) {
        setItem(row, 0, new QTableWidgetItem(rows[row].first));
        setItem(row, 1, new QTableWidgetItem(rows[row].second));
    }
    resizeColumnToContents(0);
}

} // namespace icmil::ui
