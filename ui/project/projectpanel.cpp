// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/project/projectpanel.h"

#include "ui/project/slidetablemodel.h"

#include "project/training/predictiontable.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <algorithm>
#include <exception>

namespace icmil::ui {

namespace {

// Text matches the slide id, label or prediction; the split filter is exact ("unlabelled": no
// label row). Sorting uses SortRole so probabilities sort as numbers.
class SlideFilter : public QSortFilterProxyModel {
public:
    using QSortFilterProxyModel::QSortFilterProxyModel;

    void setText(const QString &text)
    {
        m_text = text.trimmed();
        invalidateFilter();
    }
    void setSplit(const QString &split)
    {
        m_split = split;
        invalidateFilter();
    }

protected:
    bool filterAcceptsRow(int row, const QModelIndex &parent) const override
    {
        const QAbstractItemModel *model = sourceModel();
        const auto cell = [&](int column) { return model->index(row, column, parent).data().toString(); };
        if (!m_split.isEmpty()) {
            const bool unlabelled = cell(SlideTableModel::Label).isEmpty();
            if (m_split == QStringLiteral("unlabelled") ? !unlabelled : cell(SlideTableModel::Split) != m_split)
                return false;
        }
        if (m_text.isEmpty())
            return true;
        for (int column : {SlideTableModel::Slide, SlideTableModel::Label, SlideTableModel::Prediction}) {
            if (cell(column).contains(m_text, Qt::CaseInsensitive))
                return true;
        }
        return false;
    }

private:
    QString m_text;
    QString m_split;
};

CatalogLoad loadCatalog(const QString &root, const QString &run)
{
    CatalogLoad load;
    try {
        load.catalog = project::loadProjectCatalog(root.toStdString(), run.toStdString());
    } catch (const std::exception &e) {
        load.error = QString::fromStdString(e.what());
    }
    return load;
}

} // namespace

ProjectPanel::ProjectPanel(QWidget *parent) : QWidget(parent), m_model(new SlideTableModel(this)), m_proxy(new SlideFilter(this))
{
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(SlideTableModel::SortRole);

    m_filter = new QLineEdit(this);
    m_filter->setPlaceholderText(tr("Filter by slide, label or prediction"));
    m_filter->setClearButtonEnabled(true);
    m_split = new QComboBox(this);
    m_split->addItem(tr("All splits"), QString());
    for (const char *split : {"train", "val", "test"})
        m_split->addItem(QString::fromLatin1(split), QString::fromLatin1(split));
    m_split->addItem(tr("Unlabelled"), QStringLiteral("unlabelled"));
    m_runs = new QComboBox(this);
    m_runs->setToolTip(tr("The classifier run whose predictions and attention are shown"));
    m_runs->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_runs->hide();

    m_view = new QTableView(this);
    m_view->setModel(m_proxy);
    m_view->setSortingEnabled(true);
    m_view->sortByColumn(SlideTableModel::Slide, Qt::AscendingOrder);
    m_view->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_view->setIconSize(QSize(SlideTableModel::kThumbnailSize, SlideTableModel::kThumbnailSize));
    m_view->verticalHeader()->setDefaultSectionSize(SlideTableModel::kThumbnailSize + 6);
    m_view->verticalHeader()->hide();
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_view->setColumnWidth(SlideTableModel::Thumbnail, SlideTableModel::kThumbnailSize + 8);

    m_summary = new QLabel(this);
    m_problems = new QLabel(this);
    m_problems->setWordWrap(true);
    m_problems->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_problems->setStyleSheet(QStringLiteral("color: #b26a00"));
    m_problems->hide();
    m_export = new QPushButton(tr("Export predictions..."), this);
    m_export->setEnabled(false);

    auto *filters = new QHBoxLayout;
    filters->addWidget(m_filter, 1);
    filters->addWidget(m_split);
    filters->addWidget(m_runs);
    auto *footer = new QHBoxLayout;
    footer->addWidget(m_summary, 1);
    footer->addWidget(m_export);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(filters);
    layout->addWidget(m_view, 1);
    layout->addWidget(m_problems);
    layout->addLayout(footer);

    connect(m_filter, &QLineEdit::textChanged, this, &ProjectPanel::setFilterText);
    connect(m_split, &QComboBox::currentIndexChanged, this, [this](int index) { setSplitFilter(m_split->itemData(index).toString()); });
    connect(m_runs, &QComboBox::activated, this, [this](int index) { showRun(m_runs->itemData(index).toString()); });
    connect(m_view, &QTableView::activated, this, &ProjectPanel::activate);
    connect(m_view, &QTableView::doubleClicked, this, &ProjectPanel::activate);
    connect(&m_loadWatcher, &QFutureWatcher<CatalogLoad>::finished, this, &ProjectPanel::onLoaded);
    connect(m_export, &QPushButton::clicked, this, &ProjectPanel::chooseExportPath);
    connect(&m_exportWatcher, &QFutureWatcher<QString>::finished, this,
            [this] { Q_EMIT predictionsExported(m_exportPath, m_exportWatcher.result()); });
    updateSummary();
}

ProjectPanel::~ProjectPanel()
{
    m_loadWatcher.waitForFinished();
    m_exportWatcher.waitForFinished();
}

const project::ProjectCatalog &ProjectPanel::catalog() const
{
    return m_model->catalog();
}

void ProjectPanel::openProject(const QString &root)
{
    if (root != m_root)
        m_chosenRun.clear(); // another project: its best run
    m_loadingRoot = root;
    m_summary->setText(tr("Reading %1 ...").arg(root));
    m_loadWatcher.setFuture(QtConcurrent::run(loadCatalog, root, m_chosenRun));
}

void ProjectPanel::showRun(const QString &run)
{
    m_chosenRun = run;
    reload();
}

void ProjectPanel::reload()
{
    if (!m_root.isEmpty())
        openProject(m_root);
}

void ProjectPanel::onLoaded()
{
    const CatalogLoad load = m_loadWatcher.result();
    if (!load.error.isEmpty()) {
        updateSummary();
        Q_EMIT projectFailed(m_loadingRoot, load.error);
        return;
    }
    m_root = m_loadingRoot;
    m_model->setCatalog(load.catalog);
    // The run box: automatic (best by validation) first, then every run; a chosen run that is gone
    // (a start over deleted it) falls back to automatic.
    const project::ProjectCatalog &loaded = catalog();
    if (loaded.predictionRunChoice != project::ProjectCatalog::RunChoice::Chosen)
        m_chosenRun.clear();
    m_runs->clear();
    m_runs->addItem(tr("Best run by validation"), QString());
    for (const project::ProjectRun &run : loaded.runs) {
        QString label = QString::fromStdString(run.name);
        if (run.valAuc)
            label += tr(" (validation AUC %1)").arg(*run.valAuc, 0, 'f', 3);
        if (run.newest)
            label += tr(", newest");
        m_runs->addItem(label, QString::fromStdString(run.name));
    }
    m_runs->setCurrentIndex(std::max(0, m_runs->findData(m_chosenRun)));
    m_runs->setVisible(!loaded.runs.empty());
    m_view->resizeColumnsToContents();
    QStringList problems;
    for (const project::LabelsIssue &issue : catalog().labelIssues) {
        problems << (issue.line > 0 ? tr("line %1: %2").arg(issue.line).arg(QString::fromStdString(issue.message))
                                    : QString::fromStdString(issue.message));
    }
    m_problems->setText(problems.join(QLatin1Char('\n')));
    m_problems->setVisible(!problems.isEmpty());
    updateSummary();
    Q_EMIT projectLoaded(m_root);
}

void ProjectPanel::updateSummary()
{
    const project::ProjectCatalog &c = catalog();
    if (m_root.isEmpty()) {
        m_summary->setText(tr("No project open."));
        m_export->setEnabled(false);
        return;
    }
    int predicted = 0;
    for (const project::CatalogSlide &slide : c.slides)
        predicted += slide.prediction ? 1 : 0;
    const int total = static_cast<int>(c.slides.size());
    const int shown = m_proxy->rowCount();
    QString text = shown == total ? tr("%n slide(s)", nullptr, total) : tr("%1 of %n slide(s) shown", nullptr, total).arg(shown);
    if (!c.predictionRun.empty()) {
        text += tr(", %1 predicted by run %2").arg(predicted).arg(QString::fromStdString(c.predictionRun));
        using Choice = project::ProjectCatalog::RunChoice;
        const auto run = std::find_if(c.runs.begin(), c.runs.end(),
                                      [&](const project::ProjectRun &r) { return r.predictionsFile == c.predictionsFile; });
        if (c.predictionRunChoice == Choice::BestByValidation && run != c.runs.end() && run->valAuc)
            text += tr(" (best by validation AUC, %1)").arg(*run->valAuc, 0, 'f', 3);
        else if (c.predictionRunChoice == Choice::Chosen)
            text += tr(" (chosen)");
        else if (c.predictionRunChoice == Choice::Newest)
            text += tr(" (newest)");
    }
    m_summary->setText(text);
    m_export->setEnabled(!c.predictionRun.empty());
}

void ProjectPanel::setFilterText(const QString &text)
{
    if (m_filter->text() != text)
        m_filter->setText(text);
    static_cast<SlideFilter *>(m_proxy)->setText(text);
    updateSummary();
}

void ProjectPanel::setSplitFilter(const QString &split)
{
    const int index = m_split->findData(split);
    if (index >= 0 && index != m_split->currentIndex())
        m_split->setCurrentIndex(index);
    static_cast<SlideFilter *>(m_proxy)->setSplit(split);
    updateSummary();
}

void ProjectPanel::activate(const QModelIndex &proxyIndex)
{
    if (!proxyIndex.isValid())
        return;
    const QModelIndex source = m_proxy->mapToSource(proxyIndex);
    const project::CatalogSlide &slide = m_model->slideAt(source.row());
    if (slide.path.empty())
        return;
    Q_EMIT slideActivated(QString::fromStdString(slide.path.string()), QString::fromStdString(slide.slideId));
}

void ProjectPanel::chooseExportPath()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export predictions"), m_root + QStringLiteral("/predictions.csv"),
                                                      tr("CSV files (*.csv)"));
    if (!path.isEmpty())
        exportPredictions(path);
}

void ProjectPanel::exportPredictions(const QString &csvPath)
{
    const project::ProjectCatalog &c = catalog();
    m_exportPath = csvPath;
    if (c.predictionRun.empty()) {
        Q_EMIT predictionsExported(csvPath, tr("This project has no predictions yet: train or predict first."));
        return;
    }
    const std::filesystem::path json = c.predictionsFile;
    m_exportWatcher.setFuture(QtConcurrent::run([json, out = csvPath.toStdString()] {
        try {
            project::writePredictionsCsv(out, project::readPredictionsJson(json));
            return QString();
        } catch (const std::exception &e) {
            return QString::fromStdString(e.what());
        }
    }));
}

} // namespace icmil::ui
