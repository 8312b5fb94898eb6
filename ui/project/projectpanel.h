// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "project/projectcatalog.h"

#include <QFutureWatcher>
#include <QString>
#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

namespace icmil::ui {

class SlideTableModel;

// What a background read of a project gives back: the catalogue, or why there is none.
struct CatalogLoad {
    project::ProjectCatalog catalog;
    QString error;
};

// The project's slides: thumbnail, label, split and prediction, sortable by any column and
// filtered by text and split; double-click (or Enter) opens a slide in the viewer. The catalogue
// is read on a worker thread (openProject/reload); problems with the labels CSV are listed under
// the table. The run shown is the best by validation AUC unless the user picks another (the run
// box); the summary line always names it and why. "Export predictions..." writes the shown run's
// predictions in the CLI's CSV layout.
class ProjectPanel : public QWidget {
    Q_OBJECT
public:
    explicit ProjectPanel(QWidget *parent = nullptr);
    ~ProjectPanel() override;

    void openProject(const QString &root); // reads off the GUI thread; projectLoaded or projectFailed
    void reload();                         // the same project again (after a training run)
    // The run whose predictions (and attention) are shown: a run folder's name, or empty for the
    // best by validation AUC (the default; loadProjectCatalog). Reloads; kept across reloads of
    // the same project while the run exists.
    void showRun(const QString &run);
    QString chosenRun() const { return m_chosenRun; }
    QComboBox *runChooser() const { return m_runs; }
    void exportPredictions(const QString &csvPath); // off the GUI thread; predictionsExported

    QString projectRoot() const { return m_root; }
    const project::ProjectCatalog &catalog() const;
    SlideTableModel *model() const { return m_model; }
    QSortFilterProxyModel *proxy() const { return m_proxy; }
    QTableView *view() const { return m_view; }
    void setFilterText(const QString &text);
    void setSplitFilter(const QString &split); // "" for all, "unlabelled" for slides without a row
    bool isLoading() const { return m_loadWatcher.isRunning(); }

Q_SIGNALS:
    void projectLoaded(const QString &root);
    void projectFailed(const QString &root, const QString &message);
    void slideActivated(const QString &path, const QString &slideId);
    void predictionsExported(const QString &path, const QString &error); // error empty: written

private:
    void onLoaded();
    void activate(const QModelIndex &proxyIndex);
    void chooseExportPath();
    void updateSummary();

    QString m_root;
    SlideTableModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTableView *m_view = nullptr;
    QLineEdit *m_filter = nullptr;
    QComboBox *m_split = nullptr;
    QComboBox *m_runs = nullptr;
    QString m_chosenRun;
    QLabel *m_summary = nullptr;
    QLabel *m_problems = nullptr;
    QPushButton *m_export = nullptr;
    QFutureWatcher<CatalogLoad> m_loadWatcher;
    QString m_loadingRoot;
    QFutureWatcher<QString> m_exportWatcher;
    QString m_exportPath;
};

} // namespace icmil::ui
