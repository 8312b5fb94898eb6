// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/training/iterationtable.h"

#include <QHeaderView>

#include <cmath>

namespace icmil::ui {

IterationTable::IterationTable(QWidget *parent) : QTableWidget(0, ColumnCount, parent)
{
    setHorizontalHeaderLabels(
        {tr("Iteration"), tr("Val AUC"), tr("Test AUC"), tr("Val acc."), tr("Test acc."), tr("Patch AUC"), tr("Top-10% in tumour")});
    horizontalHeaderItem(PatchAuc)->setToolTip(tr("Attention ranking every patch of the tumour slides against the tumour masks: "
                                                  "0.5 is chance, 1 perfect localisation"));
    horizontalHeaderItem(TopFraction)
        ->setToolTip(tr("Share of each tumour slide's 10% highest-attention patches that lie in tumour "
                        "(in brackets the best possible: small tumours cover less than 10%)"));
    setEditTriggers(QAbstractItemView::NoEditTriggers);
    setSelectionBehavior(QAbstractItemView::SelectRows);
    verticalHeader()->setVisible(false);
    horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    horizontalHeader()->setStretchLastSection(true);
    setMinimumHeight(90);
    setIterations({});
}

QString IterationTable::figure(double value, double sd)
{
    if (std::isnan(value))
        return QStringLiteral("-");
    const QString text = QString::number(value, 'f', 3);
    return std::isnan(sd) ? text : text + QStringLiteral(" ± ") + QString::number(sd, 'f', 3);
}

QString IterationTable::text(int row, Column column) const
{
    const QTableWidgetItem *cell = item(row, column);
    return cell == nullptr ? QString() : cell->text();
}

void IterationTable::setIterations(const std::vector<IterationResult> &iterations)
{
    setRowCount(static_cast<int>(iterations.size()));
    bool localised = false;
    for (int row = 0; row < rowCount(); ++row) {
        const IterationResult &r = iterations[static_cast<std::size_t>(row)];
        const auto sd = [&r](double value) { return r.hasFolds() ? value : kUndefined; };
        const QString iteration = r.hasFolds() ? tr("%1 (%2 folds)").arg(r.iteration).arg(r.folds) : QString::number(r.iteration);
        QString top = figure(r.topFraction, sd(r.topFractionSd));
        if (!std::isnan(r.topFraction) && !std::isnan(r.topFractionCeiling))
            top += tr(" (of %1)").arg(r.topFractionCeiling, 0, 'f', 3);
        const bool scored = r.hasLocalisation();
        localised = localised || scored;
        const QString cells[ColumnCount] = {iteration,
                                            figure(r.valAuc, sd(r.valAucSd)),
                                            figure(r.testAuc, sd(r.testAucSd)),
                                            figure(r.valAccuracy, sd(r.valAccuracySd)),
                                            figure(r.testAccuracy, sd(r.testAccuracySd)),
                                            scored ? figure(r.patchAuc, sd(r.patchAucSd)) : QStringLiteral("-"),
                                            scored ? top : QStringLiteral("-")};
        for (int column = 0; column < ColumnCount; ++column) {
            auto *cell = new QTableWidgetItem(cells[column]);
            cell->setTextAlignment(Qt::AlignVCenter | (column == Iteration ? Qt::AlignLeft : Qt::AlignRight));
            if (r.hasFolds())
                cell->setToolTip(tr("Mean ± standard deviation over %1 folds").arg(r.folds));
            else if (scored && column >= PatchAuc)
                cell->setToolTip(tr("Over %1 tumour slides").arg(r.localisedSlides));
            setItem(row, column, cell);
        }
    }
    setColumnHidden(PatchAuc, !localised);
    setColumnHidden(TopFraction, !localised);
}

} // namespace icmil::ui
