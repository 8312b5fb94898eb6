// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

// The training panel's four QCustomPlot charts and a table:
//   iteration AUC  the headline: validation and test AUC of each ICMIL iteration's best
//                  classifier, x = iteration (integer ticks), y 0..1; with mean ± sd error bars
//                  when the iterations carry fold statistics (IterationResult::folds > 1);
//                  and, when the slides have tumour ground truth, the patch AUC of the
//                  attention on the tumour slides (does the attention find the tumour?);
//   table          under it, each iteration's numbers (iterationtable.h), localisation included
//                  when the slides have tumour ground truth;
//   epochs         the current iteration's classifier epochs: training loss (left axis) and
//                  validation AUC (right axis, 0..1); cleared when a new iteration starts;
//   fine-tuning    the embedder's fine-tuning epochs of every iteration on one axis: iteration
//                  k's epochs fill (k-1, k], so the end of its fine-tuning sits over iteration k
//                  of the AUC chart (the embedder that iteration's features come from) and a
//                  loop's rounds read left to right; mean distillation loss (left axis) and
//                  held-out student-teacher agreement (right axis, 0..1);
//   ROC            the test-split ROC of the best iteration so far (by validation AUC), with the
//                  diagonal and the AUC in the legend.
// Each can be saved as PNG (context menu, or savePng()). The data accessors are for tests and
// for whoever wants the numbers behind a chart. GUI thread only; no I/O except savePng.

#include "ui/training/trainingevents.h"

#include <QPointF>
#include <QWidget>

#include <vector>

class QCustomPlot;
class QCPCurve;
class QCPErrorBars;
class QCPGraph;

namespace icmil::ui {

class IterationTable;

class TrainingCharts : public QWidget {
    Q_OBJECT
public:
    enum class Chart { IterationAuc, Epochs, Roc, FineTuning };

    explicit TrainingCharts(QWidget *parent = nullptr);

    // Adds an iteration or replaces the one with the same number (a resumed run reports again).
    void setIteration(const IterationResult &iteration);
    // All iterations at once (a saved loop, or a run's outcome); replaces what is shown.
    void setIterations(const std::vector<IterationResult> &iterations);
    // Adds a classifier epoch; an epoch of another iteration than the one shown clears the chart first.
    void addClassifierEpoch(const ClassifierEpoch &epoch);
    // Adds a fine-tuning epoch; one that comes again (a resumed fine-tuning starts over) replaces
    // it and the later epochs of its iteration.
    void addFineTuningEpoch(const FineTuningEpochPoint &epoch);
    void clear();

    // The headline chart's data: one validation and one test point per iteration that has the
    // figure (x = iteration, y = AUC), in iteration order.
    int iterationPointCount() const { return static_cast<int>(m_iterations.size()); }
    std::vector<QPointF> validationAucPoints() const;
    std::vector<QPointF> testAucPoints() const;
    // The error bars: shown when some iteration has fold statistics; (x = iteration, y = sd) of
    // each point that has an sd.
    bool hasErrorBars() const;
    // The attention's patch AUC against tumour ground truth (x = iteration), of the iterations
    // that have it (IterationResult::hasLocalisation), and its sd over folds.
    std::vector<QPointF> patchAucPoints() const;
    std::vector<QPointF> patchAucErrors() const;
    std::vector<QPointF> validationAucErrors() const;
    std::vector<QPointF> testAucErrors() const;
    IterationTable *table() const { return m_table; }
    // The epoch chart's data (x = 1-based epoch).
    int epochIteration() const { return m_epochIteration; }
    std::vector<QPointF> trainLossPoints() const;
    std::vector<QPointF> validationAucByEpochPoints() const;
    // The fine-tuning chart's data (x as above).
    std::vector<QPointF> fineTuningLossPoints() const;
    std::vector<QPointF> fineTuningAgreementPoints() const;
    // The ROC chart's data: the best iteration (-1: none), its curve and AUC.
    int rocIteration() const { return m_rocIteration; }
    std::vector<QPointF> rocPoints() const;
    double rocAuc() const;

    QCustomPlot *plot(Chart chart) const;
    // Writes `chart` as a PNG of its current size (or width x height when given); false on failure.
    bool savePng(Chart chart, const QString &path, int width = 0, int height = 0) const;

private:
    QCustomPlot *makePlot(Chart chart, const QString &title);
    void showSaveMenu(Chart chart, const QPoint &position);
    void refreshIterations();
    void refreshEpochs();
    void refreshRoc();
    void refreshFineTuning();

    QCustomPlot *m_aucPlot = nullptr;
    QCustomPlot *m_epochPlot = nullptr;
    QCustomPlot *m_rocPlot = nullptr;
    QCustomPlot *m_fineTunePlot = nullptr;
    IterationTable *m_table = nullptr;
    QCPErrorBars *m_valAucBars = nullptr;
    QCPErrorBars *m_testAucBars = nullptr;
    QCPErrorBars *m_patchAucBars = nullptr;
    QCPGraph *m_fineTuneLossGraph = nullptr;
    QCPGraph *m_agreementGraph = nullptr;
    QCPGraph *m_valAucGraph = nullptr;
    QCPGraph *m_testAucGraph = nullptr;
    QCPGraph *m_patchAucGraph = nullptr;
    QCPGraph *m_lossGraph = nullptr;
    QCPGraph *m_epochAucGraph = nullptr;
    QCPCurve *m_rocCurve = nullptr;
    QCPCurve *m_diagonal = nullptr;
    std::vector<IterationResult> m_iterations;      // sorted by iteration
    std::vector<ClassifierEpoch> m_epochs;          // of m_epochIteration
    std::vector<FineTuningEpochPoint> m_fineTuning; // sorted by (iteration, epoch)
    int m_epochIteration = -1;
    int m_rocIteration = -1;
};

} // namespace icmil::ui
