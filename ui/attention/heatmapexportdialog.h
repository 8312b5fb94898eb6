// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "ui/viewer/attentionheatmap.h"

#include "project/export/runheatmapexport.h"
#include "project/projectcatalog.h"

#include <QDialog>
#include <QFutureWatcher>
#include <QPointer>
#include <QString>
#include <QStringList>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QMessageBox;
class QProgressBar;
class QPushButton;
class QRadioButton;

namespace icmil::ui {

// File > Export whole-slide heatmap...: a run's heatmaps over whole slides as files to take away
// (project/export/runheatmapexport.h, what `icmil heatmap` writes): the map (attention, or the
// instance view's probability of a class), the downsample, the heatmap alone or over the slide,
// the colormap and normalisation, PNG and/or pyramidal TIFF, the output folder, the slide in view
// or every slide of the run. The choices start as the Attention panel's. Export runs on a worker thread (QtConcurrent); the dialog stays open, busy, and
// reports what was written (or why not) in a message box.
class HeatmapExportDialog : public QDialog {
    Q_OBJECT
public:
    struct Context {
        QString projectRoot;
        QStringList runs;        // the project's runs with predictions
        QString run;             // the run shown (preselected)
        QString slideId;         // the project slide in view, or ""
        QStringList classNames;  // the shown run's classes (the instance view draws one of them)
        bool instance = false;   // the Attention panel shows the instance view
        HeatmapSettings colours; // the Attention panel's colormap and normalisation
        double opacity = 0.5;    // the heatmap layer's
    };

    explicit HeatmapExportDialog(const Context &context, QWidget *parent = nullptr);
    ~HeatmapExportDialog() override;

    // The context of the open project (its runs, the run shown, its classes) and the Attention
    // panel (the slide in view, its map, colours and opacity).
    static Context contextOf(const project::ProjectCatalog &catalog, const QString &slideId, const HeatmapSettings &colours, bool instance,
                             double opacity);
    // Shows the dialog (deleted on close) or, without a project with predictions, says why.
    static void showFor(const Context &context, QWidget *parent);

    // What the settings ask for (the Export button runs this).
    project::RunHeatmapExport request() const;
    void setOutputFolder(const QString &folder);
    void setAllSlides(bool all);
    void setFormat(bool png, bool tiff);
    void setDownsample(double downsample);
    void setOverlay(bool overlay);
    void setInstanceView(bool instance, const QString &className = {});
    void exportHeatmaps(); // the Export button
    bool isExporting() const { return m_watcher.isRunning(); }
    QMessageBox *reportBox() const { return m_report; }

    void reject() override; // Close: not while exporting (the dialog reports when done)

Q_SIGNALS:
    // error empty: every slide was written; else what failed (summary: what was written).
    void exported(const QString &summary, const QString &error);

private:
    struct Outcome {
        int written = 0;
        QStringList failures; // "slide: sentence"
        QString error;        // the whole export failed
    };
    void onExported();
    void browse();
    void updateControls();

    Context m_context;
    QComboBox *m_run = nullptr;
    QComboBox *m_map = nullptr;
    QComboBox *m_class = nullptr;
    QRadioButton *m_currentSlide = nullptr;
    QRadioButton *m_allSlides = nullptr;
    QDoubleSpinBox *m_downsample = nullptr;
    QCheckBox *m_overlay = nullptr;
    QDoubleSpinBox *m_opacity = nullptr;
    QComboBox *m_colormap = nullptr;
    QComboBox *m_normalisation = nullptr;
    QComboBox *m_format = nullptr;
    QLineEdit *m_folder = nullptr;
    QLabel *m_status = nullptr;
    QProgressBar *m_busy = nullptr;
    QDialogButtonBox *m_buttons = nullptr;
    QPushButton *m_export = nullptr;
    QFutureWatcher<Outcome> m_watcher;
    QPointer<QMessageBox> m_report;
};

} // namespace icmil::ui
