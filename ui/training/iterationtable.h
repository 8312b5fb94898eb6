// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The numbers behind the per-iteration chart, one read-only row per finished iteration:
// validation and test AUC and accuracy, and, when the slides have tumour ground truth, the
// attention's localisation (patch AUC; share of the top-10% attention patches in tumour, with
// its ceiling). A folds run shows "mean ± sd"; the localisation columns are hidden when no
// iteration has one. GUI thread only.

#include "ui/training/trainingevents.h"

#include <QTableWidget>

#include <vector>

namespace icmil::ui {

class IterationTable : public QTableWidget {
    Q_OBJECT
public:
    enum Column { Iteration, ValAuc, TestAuc, ValAccuracy, TestAccuracy, PatchAuc, TopFraction, ColumnCount };

    explicit IterationTable(QWidget *parent = nullptr);

    // One row per iteration, in the order given (the charts keep them sorted).
    void setIterations(const std::vector<IterationResult> &iterations);
    bool showsLocalisation() const { return !isColumnHidden(PatchAuc); }
    QString text(int row, Column column) const;

    // "0.812", "0.812 ± 0.034" (sd given), "-" (NaN).
    static QString figure(double value, double sd = kUndefined);
};

} // namespace icmil::ui
