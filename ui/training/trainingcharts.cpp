// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/training/trainingcharts.h"

#include "ui/training/qcustomplotinclude.h"

#include "ui/training/iterationtable.h"

#include <QFileDialog>
#include <QHBoxLayout>
#include <QMenu>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace icmil::ui {

namespace {

const QColor kValidationColour(31, 119, 180);
const QColor kTestColour(214, 39, 40);
const QColor kLossColour(90, 90, 90);
const QColor kAgreementColour(44, 160, 44);
const QColor kLocalisationColour(148, 103, 189);
// AUC and rates live in [0, 1]; a margin keeps markers at 0 and 1 off the axis lines.
constexpr double kUnitLow = -0.03;
constexpr double kUnitHigh = 1.03;

QCPScatterStyle markers(const QColor &colour, QCPScatterStyle::ScatterShape shape)
{
    return QCPScatterStyle(shape, colour, colour.lighter(150), 7);
}

void styleLine(QCPAbstractPlottable *plottable, const QColor &colour, const QString &name)
{
    plottable->setPen(QPen(colour, 2));
    plottable->setName(name);
}

std::vector<QPointF> pointsOf(const QCPGraph *graph)
{
    std::vector<QPointF> points;
    for (auto it = graph->data()->constBegin(); it != graph->data()->constEnd(); ++it)
        points.emplace_back(it->key, it->value);
    return points;
}

std::vector<QPointF> errorsOf(const QCPErrorBars *bars, const QCPGraph *graph)
{
    std::vector<QPointF> errors;
    if (!bars->visible())
        return errors;
    for (int i = 0; i < bars->dataCount() && i < graph->dataCount(); ++i)
        if (!std::isnan(bars->data()->at(i).errorPlus))
            errors.emplace_back(graph->data()->at(i)->key, bars->data()->at(i).errorPlus);
    return errors;
}

QCPErrorBars *errorBarsFor(QCPGraph *graph, const QColor &colour)
{
    auto *bars = new QCPErrorBars(graph->keyAxis(), graph->valueAxis());
    bars->setDataPlottable(graph);
    bars->setErrorType(QCPErrorBars::etValueError);
    bars->setPen(QPen(colour, 1.5));
    bars->setWhiskerWidth(8);
    bars->removeFromLegend();
    bars->setVisible(false);
    return bars;
}

// The sd of a figure, when the iteration is a folds run.
double sdOf(const IterationResult &r, double sd)
{
    return r.hasFolds() ? sd : kUndefined;
}

QString aucText(double auc)
{
    return std::isnan(auc) ? QStringLiteral("n/a") : QString::number(auc, 'f', 3);
}

} // namespace

TrainingCharts::TrainingCharts(QWidget *parent) : QWidget(parent)
{
    m_aucPlot = makePlot(Chart::IterationAuc, tr("AUC per ICMIL iteration"));
    m_aucPlot->xAxis->setLabel(tr("Iteration"));
    m_aucPlot->yAxis->setLabel(tr("AUC"));
    auto ticker = QSharedPointer<QCPAxisTickerFixed>::create();
    ticker->setTickStep(1.0);
    ticker->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    m_aucPlot->xAxis->setTicker(ticker);
    m_aucPlot->xAxis->setNumberPrecision(0);
    m_valAucGraph = m_aucPlot->addGraph();
    styleLine(m_valAucGraph, kValidationColour, tr("Validation AUC"));
    m_valAucGraph->setScatterStyle(markers(kValidationColour, QCPScatterStyle::ssCircle));
    m_testAucGraph = m_aucPlot->addGraph();
    styleLine(m_testAucGraph, kTestColour, tr("Test AUC"));
    m_testAucGraph->setScatterStyle(markers(kTestColour, QCPScatterStyle::ssSquare));
    m_patchAucGraph = m_aucPlot->addGraph();
    styleLine(m_patchAucGraph, kLocalisationColour, tr("Attention finds tumour (patch AUC)"));
    m_patchAucGraph->setPen(QPen(kLocalisationColour, 2, Qt::DashLine));
    m_patchAucGraph->setScatterStyle(markers(kLocalisationColour, QCPScatterStyle::ssDiamond));
    m_valAucBars = errorBarsFor(m_valAucGraph, kValidationColour);
    m_testAucBars = errorBarsFor(m_testAucGraph, kTestColour);
    m_patchAucBars = errorBarsFor(m_patchAucGraph, kLocalisationColour);
    m_table = new IterationTable;

    m_epochPlot = makePlot(Chart::Epochs, tr("Classifier epochs"));
    m_epochPlot->xAxis->setLabel(tr("Epoch"));
    m_epochPlot->yAxis->setLabel(tr("Training loss"));
    m_epochPlot->yAxis2->setVisible(true);
    m_epochPlot->yAxis2->setLabel(tr("Validation AUC"));
    m_lossGraph = m_epochPlot->addGraph(m_epochPlot->xAxis, m_epochPlot->yAxis);
    styleLine(m_lossGraph, kLossColour, tr("Training loss"));
    m_epochAucGraph = m_epochPlot->addGraph(m_epochPlot->xAxis, m_epochPlot->yAxis2);
    styleLine(m_epochAucGraph, kValidationColour, tr("Validation AUC"));
    m_epochAucGraph->setScatterStyle(markers(kValidationColour, QCPScatterStyle::ssDisc));

    m_rocPlot = makePlot(Chart::Roc, tr("Test ROC of the best iteration"));
    m_rocPlot->xAxis->setLabel(tr("False positive rate"));
    m_rocPlot->yAxis->setLabel(tr("True positive rate"));
    m_rocPlot->xAxis->setRange(0.0, 1.0);
    m_diagonal = new QCPCurve(m_rocPlot->xAxis, m_rocPlot->yAxis);
    m_diagonal->setPen(QPen(Qt::gray, 1, Qt::DashLine));
    m_diagonal->setName(tr("Chance"));
    m_diagonal->setData({0.0, 1.0}, {0.0, 1.0});
    m_rocCurve = new QCPCurve(m_rocPlot->xAxis, m_rocPlot->yAxis);
    styleLine(m_rocCurve, kTestColour, tr("No finished iteration yet"));

    m_fineTunePlot = makePlot(Chart::FineTuning, tr("Embedder fine-tuning"));
    m_fineTunePlot->xAxis->setLabel(tr("Iteration (its fine-tuning epochs before it)"));
    m_fineTunePlot->xAxis->setTicker(ticker);
    m_fineTunePlot->xAxis->setNumberPrecision(0);
    m_fineTunePlot->yAxis->setLabel(tr("Distillation loss"));
    m_fineTunePlot->yAxis2->setVisible(true);
    m_fineTunePlot->yAxis2->setLabel(tr("Held-out agreement"));
    m_fineTuneLossGraph = m_fineTunePlot->addGraph(m_fineTunePlot->xAxis, m_fineTunePlot->yAxis);
    styleLine(m_fineTuneLossGraph, kLossColour, tr("Loss"));
    m_fineTuneLossGraph->setScatterStyle(markers(kLossColour, QCPScatterStyle::ssDisc));
    m_agreementGraph = m_fineTunePlot->addGraph(m_fineTunePlot->xAxis, m_fineTunePlot->yAxis2);
    styleLine(m_agreementGraph, kAgreementColour, tr("Agreement with the teacher"));
    m_agreementGraph->setScatterStyle(markers(kAgreementColour, QCPScatterStyle::ssTriangle));

    auto *upper = new QVBoxLayout;
    upper->addWidget(m_aucPlot, 3);
    upper->addWidget(m_table, 1);
    auto *lower = new QHBoxLayout;
    lower->addWidget(m_epochPlot);
    lower->addWidget(m_fineTunePlot);
    lower->addWidget(m_rocPlot);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(upper, 3);
    layout->addLayout(lower, 2);
    clear();
}

QCustomPlot *TrainingCharts::makePlot(Chart chart, const QString &title)
{
    auto *plot = new QCustomPlot(this);
    plot->setMinimumSize(240, 180);
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, new QCPTextElement(plot, title, QFont(font().family(), -1, QFont::Bold)));
    plot->legend->setVisible(true);
    plot->legend->setFont(QFont(font().family(), 8));
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
    plot->yAxis->setRange(0.0, 1.0);
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(plot, &QWidget::customContextMenuRequested, this, [this, chart](const QPoint &position) { showSaveMenu(chart, position); });
    return plot;
}

void TrainingCharts::showSaveMenu(Chart chart, const QPoint &position)
{
    QCustomPlot *target = plot(chart);
    QMenu menu(this);
    const QAction *save = menu.addAction(tr("Save as PNG…"));
    if (menu.exec(target->mapToGlobal(position)) != save)
        return;
    const QString path = QFileDialog::getSaveFileName(this, tr("Save chart"), QString(), tr("PNG images (*.png)"));
    if (!path.isEmpty())
        savePng(chart, path);
}

QCustomPlot *TrainingCharts::plot(Chart chart) const
{
    switch (chart) {
    case Chart::IterationAuc: return m_aucPlot;
    case Chart::Epochs: return m_epochPlot;
    case Chart::Roc: return m_rocPlot;
    case Chart::FineTuning: return m_fineTunePlot;
    }
    return m_aucPlot;
}

bool TrainingCharts::savePng(Chart chart, const QString &path, int width, int height) const
{
    QCustomPlot *target = plot(chart);
    target->replot(QCustomPlot::rpImmediateRefresh);
    return target->savePng(path, width, height);
}

void TrainingCharts::clear()
{
    m_iterations.clear();
    m_epochs.clear();
    m_epochIteration = -1;
    m_fineTuning.clear();
    refreshIterations();
    refreshEpochs();
    refreshFineTuning();
}

void TrainingCharts::setIteration(const IterationResult &iteration)
{
    const auto at = std::find_if(m_iterations.begin(), m_iterations.end(),
                                 [&](const IterationResult &r) { return r.iteration >= iteration.iteration; });
    if (at != m_iterations.end() && at->iteration == iteration.iteration)
        *at = iteration;
    else
        m_iterations.insert(at, iteration);
    refreshIterations();
}

void TrainingCharts::setIterations(const std::vector<IterationResult> &iterations)
{
    m_iterations.clear();
    for (const IterationResult &iteration : iterations)
        setIteration(iteration);
    refreshIterations();
}

void TrainingCharts::addClassifierEpoch(const ClassifierEpoch &epoch)
{
    if (epoch.iteration != m_epochIteration) {
        m_epochs.clear();
        m_epochIteration = epoch.iteration;
    }
    m_epochs.push_back(epoch);
    refreshEpochs();
}

void TrainingCharts::addFineTuningEpoch(const FineTuningEpochPoint &epoch)
{
    std::erase_if(m_fineTuning, [&](const FineTuningEpochPoint &e) { return e.iteration == epoch.iteration && e.epoch >= epoch.epoch; });
    const auto at = std::find_if(m_fineTuning.begin(), m_fineTuning.end(), [&](const FineTuningEpochPoint &e) {
        return e.iteration > epoch.iteration || (e.iteration == epoch.iteration && e.epoch > epoch.epoch);
    });
    m_fineTuning.insert(at, epoch);
    refreshFineTuning();
}

void TrainingCharts::refreshIterations()
{
    m_valAucGraph->data()->clear();
    m_testAucGraph->data()->clear();
    m_patchAucGraph->data()->clear();
    QVector<double> valErrors, testErrors, patchErrors;
    int folds = 0;
    for (const IterationResult &r : m_iterations) {
        if (!std::isnan(r.valAuc)) {
            m_valAucGraph->addData(r.iteration, r.valAuc);
            valErrors.push_back(sdOf(r, r.valAucSd));
        }
        if (!std::isnan(r.testAuc)) {
            m_testAucGraph->addData(r.iteration, r.testAuc);
            testErrors.push_back(sdOf(r, r.testAucSd));
        }
        if (r.hasLocalisation()) {
            m_patchAucGraph->addData(r.iteration, r.patchAuc);
            patchErrors.push_back(sdOf(r, r.patchAucSd));
        }
        if (r.hasFolds())
            folds = std::max(folds, r.folds);
    }
    // Only where the slides have tumour ground truth (a synthetic dataset): out of the legend otherwise.
    const bool localised = !m_patchAucGraph->data()->isEmpty();
    m_patchAucGraph->setVisible(localised);
    if (localised)
        m_patchAucGraph->addToLegend();
    else
        m_patchAucGraph->removeFromLegend();
    const auto anySd
        = [](const QVector<double> &errors) { return std::any_of(errors.begin(), errors.end(), [](double e) { return !std::isnan(e); }); };
    m_valAucBars->setData(valErrors);
    m_valAucBars->setVisible(anySd(valErrors));
    m_testAucBars->setData(testErrors);
    m_testAucBars->setVisible(anySd(testErrors));
    m_patchAucBars->setData(patchErrors);
    m_patchAucBars->setVisible(localised && anySd(patchErrors));
    const QString title = folds > 1 ? tr("AUC per ICMIL iteration (mean ± sd over %1 folds)").arg(folds) : tr("AUC per ICMIL iteration");
    if (auto *text = qobject_cast<QCPTextElement *>(m_aucPlot->plotLayout()->element(0, 0)))
        text->setText(title);
    m_table->setIterations(m_iterations);
    const int last = m_iterations.empty() ? 1 : std::max(1, m_iterations.back().iteration);
    m_aucPlot->xAxis->setRange(-0.25, last + 0.25);
    m_aucPlot->yAxis->setRange(kUnitLow, kUnitHigh);
    m_aucPlot->replot(QCustomPlot::rpQueuedReplot);
    refreshRoc();
}

void TrainingCharts::refreshEpochs()
{
    m_lossGraph->data()->clear();
    m_epochAucGraph->data()->clear();
    double maxLoss = 0.0;
    for (const ClassifierEpoch &e : m_epochs) {
        m_lossGraph->addData(e.epoch + 1, e.trainLoss);
        maxLoss = std::max(maxLoss, e.trainLoss);
        if (!std::isnan(e.valAuc))
            m_epochAucGraph->addData(e.epoch + 1, e.valAuc);
    }
    const int epochs = m_epochs.empty() ? 1 : std::max(m_epochs.back().epochs, 1);
    m_epochPlot->xAxis->setRange(0.5, epochs + 0.5);
    m_epochPlot->yAxis->setRange(0.0, maxLoss > 0.0 ? maxLoss * 1.1 : 1.0);
    m_epochPlot->yAxis2->setRange(kUnitLow, kUnitHigh);
    const QString title = m_epochIteration < 0 ? tr("Classifier epochs") : tr("Classifier epochs, iteration %1").arg(m_epochIteration);
    if (auto *text = qobject_cast<QCPTextElement *>(m_epochPlot->plotLayout()->element(0, 0)))
        text->setText(title);
    m_epochPlot->replot(QCustomPlot::rpQueuedReplot);
}

void TrainingCharts::refreshFineTuning()
{
    m_fineTuneLossGraph->data()->clear();
    m_agreementGraph->data()->clear();
    double maxLoss = 0.0;
    int last = 1;
    for (const FineTuningEpochPoint &e : m_fineTuning) {
        // Iteration k's epochs fill (k-1, k]; without a count, as many as it has so far.
        int epochs = e.epochs;
        if (epochs <= 0)
            for (const FineTuningEpochPoint &other : m_fineTuning)
                if (other.iteration == e.iteration)
                    epochs = std::max(epochs, other.epoch + 1);
        const double x = e.iteration - 1 + (e.epoch + 1.0) / std::max(1, epochs);
        m_fineTuneLossGraph->addData(x, e.loss);
        m_agreementGraph->addData(x, e.validationAccuracy);
        maxLoss = std::max(maxLoss, e.loss);
        last = std::max(last, e.iteration);
    }
    m_fineTunePlot->xAxis->setRange(-0.05, last + 0.05);
    m_fineTunePlot->yAxis->setRange(0.0, maxLoss > 0.0 ? maxLoss * 1.1 : 1.0);
    m_fineTunePlot->yAxis2->setRange(kUnitLow, kUnitHigh);
    m_fineTunePlot->replot(QCustomPlot::rpQueuedReplot);
}

void TrainingCharts::refreshRoc()
{
    const int best = bestIterationIndex(m_iterations);
    m_rocIteration = best < 0 ? -1 : m_iterations[static_cast<std::size_t>(best)].iteration;
    QVector<double> fpr, tpr;
    if (best >= 0) {
        const IterationResult &r = m_iterations[static_cast<std::size_t>(best)];
        for (const QPointF &p : r.testRoc) {
            fpr.push_back(p.x());
            tpr.push_back(p.y());
        }
        m_rocCurve->setName(r.testRoc.empty() ? tr("Iteration %1: %2").arg(r.iteration).arg(r.rocNote)
                                              : tr("Iteration %1 test ROC (AUC %2)").arg(r.iteration).arg(aucText(r.testRocAuc)));
    } else {
        m_rocCurve->setName(tr("No iteration with a validation AUC yet"));
    }
    m_rocCurve->setData(fpr, tpr);
    m_rocPlot->xAxis->setRange(kUnitLow, kUnitHigh);
    m_rocPlot->yAxis->setRange(kUnitLow, kUnitHigh);
    m_rocPlot->replot(QCustomPlot::rpQueuedReplot);
}

std::vector<QPointF> TrainingCharts::validationAucPoints() const
{
    return pointsOf(m_valAucGraph);
}

std::vector<QPointF> TrainingCharts::testAucPoints() const
{
    return pointsOf(m_testAucGraph);
}

std::vector<QPointF> TrainingCharts::patchAucPoints() const
{
    return pointsOf(m_patchAucGraph);
}

std::vector<QPointF> TrainingCharts::patchAucErrors() const
{
    return errorsOf(m_patchAucBars, m_patchAucGraph);
}

bool TrainingCharts::hasErrorBars() const
{
    return m_valAucBars->visible() || m_testAucBars->visible();
}

std::vector<QPointF> TrainingCharts::validationAucErrors() const
{
    return errorsOf(m_valAucBars, m_valAucGraph);
}

std::vector<QPointF> TrainingCharts::testAucErrors() const
{
    return errorsOf(m_testAucBars, m_testAucGraph);
}

std::vector<QPointF> TrainingCharts::fineTuningLossPoints() const
{
    return pointsOf(m_fineTuneLossGraph);
}

std::vector<QPointF> TrainingCharts::fineTuningAgreementPoints() const
{
    return pointsOf(m_agreementGraph);
}

std::vector<QPointF> TrainingCharts::trainLossPoints() const
{
    return pointsOf(m_lossGraph);
}

std::vector<QPointF> TrainingCharts::validationAucByEpochPoints() const
{
    return pointsOf(m_epochAucGraph);
}

std::vector<QPointF> TrainingCharts::rocPoints() const
{
    std::vector<QPointF> points;
    for (auto it = m_rocCurve->data()->constBegin(); it != m_rocCurve->data()->constEnd(); ++it)
        points.emplace_back(it->key, it->value);
    return points;
}

double TrainingCharts::rocAuc() const
{
    const int best = bestIterationIndex(m_iterations);
    return best < 0 ? kUndefined : m_iterations[static_cast<std::size_t>(best)].testRocAuc;
}

} // namespace icmil::ui
