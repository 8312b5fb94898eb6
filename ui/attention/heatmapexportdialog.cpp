// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/attention/heatmapexportdialog.h"

#include "ui/viewer/colormap.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QVBoxLayout>
#include <QtConcurrent>

#include <algorithm>
#include <exception>

namespace icmil::ui {

namespace {

const QString kDownsampleKey = QStringLiteral("heatmapExport/downsample");
const QString kOverlayKey = QStringLiteral("heatmapExport/overlay");
const QString kFormatKey = QStringLiteral("heatmapExport/format");

enum Format { Png, Tiff, Both };
enum Normalisation { PercentileRank, MinMax, Probability };

Normalisation indexOf(HeatmapNormalisation normalisation)
{
    switch (normalisation) {
    case HeatmapNormalisation::PercentileRank: return PercentileRank;
    case HeatmapNormalisation::MinMax: return MinMax;
    case HeatmapNormalisation::Probability: return Probability;
    }
    return PercentileRank;
}

} // namespace

HeatmapExportDialog::HeatmapExportDialog(const Context &context, QWidget *parent) : QDialog(parent), m_context(context)
{
    setWindowTitle(tr("Export whole-slide heatmap"));
    const QSettings stored;
    m_run = new QComboBox(this);
    m_run->addItems(context.runs.isEmpty() ? QStringList{context.run} : context.runs);
    m_run->setCurrentText(context.run);
    m_map = new QComboBox(this);
    m_map->addItem(tr("Attention"));
    m_map->addItem(tr("Instance score (a class's probability per patch)"));
    m_class = new QComboBox(this);
    m_class->addItems(context.classNames);
    if (!context.classNames.isEmpty())
        m_class->setCurrentIndex(static_cast<int>(context.classNames.size()) - 1);
    m_currentSlide = new QRadioButton(
        context.slideId.isEmpty() ? tr("The slide in view (none)") : tr("The slide in view (%1)").arg(context.slideId), this);
    m_currentSlide->setEnabled(!context.slideId.isEmpty());
    m_allSlides = new QRadioButton(tr("Every slide of the run"), this);
    (context.slideId.isEmpty() ? m_allSlides : m_currentSlide)->setChecked(true);
    m_downsample = new QDoubleSpinBox(this);
    m_downsample->setRange(1.0, 1024.0);
    m_downsample->setDecimals(1);
    m_downsample->setValue(stored.value(kDownsampleKey, 16.0).toDouble());
    m_downsample->setToolTip(tr("Level-0 pixels per heatmap pixel: 16 makes a 100,000-pixel-wide slide 6,250 pixels wide"));
    m_overlay = new QCheckBox(tr("Over the slide image (else the heatmap alone, transparent elsewhere)"), this);
    m_overlay->setChecked(stored.value(kOverlayKey, false).toBool());
    m_opacity = new QDoubleSpinBox(this);
    m_opacity->setRange(0.0, 1.0);
    m_opacity->setSingleStep(0.05);
    m_opacity->setValue(context.opacity);
    m_colormap = new QComboBox(this);
    m_colormap->addItems(Colormap::names());
    m_colormap->setCurrentText(context.colours.colormap.name());
    m_normalisation = new QComboBox(this);
    m_normalisation->addItems({tr("Percentile rank (CLAM)"), tr("Min-max"), tr("Probability (as it is)")});
    m_normalisation->setCurrentIndex(indexOf(context.colours.normalisation));
    m_format = new QComboBox(this);
    m_format->addItems({tr("PNG"), tr("Pyramidal TIFF (QuPath, ASAP, OpenSlide)"), tr("PNG and pyramidal TIFF")});
    m_format->setCurrentIndex(std::clamp(stored.value(kFormatKey, int(Png)).toInt(), int(Png), int(Both)));
    m_folder = new QLineEdit(QDir(context.projectRoot).filePath(QStringLiteral("heatmaps")), this);
    auto *browse = new QPushButton(tr("Browse..."), this);
    auto *folder = new QHBoxLayout;
    folder->addWidget(m_folder, 1);
    folder->addWidget(browse);
    m_status = new QLabel(tr("Each slide gives <slide>_heatmap.png and/or <slide>_heatmap.tif, and <slide>_legend.png."), this);
    m_status->setWordWrap(true);
    m_busy = new QProgressBar(this);
    m_busy->setRange(0, 0); // busy: the export reports once, at the end
    m_busy->hide();
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    m_export = m_buttons->addButton(tr("Export"), QDialogButtonBox::AcceptRole);

    auto *form = new QFormLayout;
    form->addRow(tr("Run:"), m_run);
    form->addRow(tr("Map:"), m_map);
    form->addRow(tr("Class:"), m_class);
    form->addRow(tr("Slides:"), m_currentSlide);
    form->addRow(QString(), m_allSlides);
    form->addRow(tr("Downsample:"), m_downsample);
    form->addRow(m_overlay);
    form->addRow(tr("Opacity:"), m_opacity);
    form->addRow(tr("Colours:"), m_colormap);
    form->addRow(tr("Normalise:"), m_normalisation);
    form->addRow(tr("Format:"), m_format);
    form->addRow(tr("Folder:"), folder);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_status);
    layout->addWidget(m_busy);
    layout->addWidget(m_buttons);

    connect(browse, &QPushButton::clicked, this, &HeatmapExportDialog::browse);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &HeatmapExportDialog::exportHeatmaps);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(m_overlay, &QCheckBox::toggled, this, &HeatmapExportDialog::updateControls);
    connect(m_map, &QComboBox::currentIndexChanged, this, [this](int index) {
        // Probabilities are shown as they are, attention by rank (as the Attention panel does).
        m_normalisation->setCurrentIndex(index == 1 ? Probability : PercentileRank);
        updateControls();
    });
    connect(&m_watcher, &QFutureWatcher<Outcome>::finished, this, &HeatmapExportDialog::onExported);
    setInstanceView(context.instance);
    updateControls();
}

HeatmapExportDialog::~HeatmapExportDialog() = default; // a running export finishes its files unreported

void HeatmapExportDialog::reject()
{
    if (m_watcher.isRunning()) {
        m_status->setText(tr("The export is under way; it reports here when it is done."));
        return;
    }
    QDialog::reject();
}

HeatmapExportDialog::Context HeatmapExportDialog::contextOf(const project::ProjectCatalog &catalog, const QString &slideId,
                                                            const HeatmapSettings &colours, bool instance, double opacity)
{
    Context context;
    context.projectRoot = QString::fromStdString(catalog.root.string());
    for (const project::ProjectRun &run : catalog.runs)
        context.runs.append(QString::fromStdString(run.name));
    context.run = QString::fromStdString(catalog.predictionRun);
    context.slideId = slideId;
    for (const std::string &name : catalog.classNames)
        context.classNames.append(QString::fromStdString(name));
    context.instance = instance;
    context.colours = colours;
    context.opacity = opacity;
    return context;
}

void HeatmapExportDialog::showFor(const Context &context, QWidget *parent)
{
    if (context.projectRoot.isEmpty() || context.run.isEmpty()) {
        auto *box = new QMessageBox(QMessageBox::Information, tr("Export whole-slide heatmap"),
                                    context.projectRoot.isEmpty()
                                        ? tr("Open a project first: heatmaps are drawn from a run's attention.")
                                        : tr("The project has no predictions yet: train or predict, then export its heatmaps."),
                                    QMessageBox::Ok, parent);
        box->setAttribute(Qt::WA_DeleteOnClose);
        box->open();
        return;
    }
    auto *dialog = new HeatmapExportDialog(context, parent);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->show();
}

void HeatmapExportDialog::updateControls()
{
    const bool idle = !m_watcher.isRunning();
    m_opacity->setEnabled(idle && m_overlay->isChecked());
    m_class->setEnabled(idle && m_map->currentIndex() == 1 && m_class->count() > 0);
    m_export->setEnabled(idle);
}

void HeatmapExportDialog::setOutputFolder(const QString &folder)
{
    m_folder->setText(folder);
}

void HeatmapExportDialog::setAllSlides(bool all)
{
    (all || !m_currentSlide->isEnabled() ? m_allSlides : m_currentSlide)->setChecked(true);
}

void HeatmapExportDialog::setFormat(bool png, bool tiff)
{
    m_format->setCurrentIndex(png && tiff ? Both : (tiff ? Tiff : Png));
}

void HeatmapExportDialog::setDownsample(double downsample)
{
    m_downsample->setValue(downsample);
}

void HeatmapExportDialog::setOverlay(bool overlay)
{
    m_overlay->setChecked(overlay);
}

void HeatmapExportDialog::setInstanceView(bool instance, const QString &className)
{
    m_map->setCurrentIndex(instance ? 1 : 0);
    if (!className.isEmpty())
        m_class->setCurrentText(className);
}

project::RunHeatmapExport HeatmapExportDialog::request() const
{
    project::RunHeatmapExport request;
    request.projectDir = m_context.projectRoot.toStdString();
    request.run = m_run->currentText().toStdString();
    if (m_currentSlide->isChecked())
        request.slides = {m_context.slideId.toStdString()};
    request.outputDir = m_folder->text().trimmed().toStdString();
    request.png = m_format->currentIndex() != Tiff;
    request.tiff = m_format->currentIndex() != Png;
    request.instance = m_map->currentIndex() == 1;
    if (request.instance)
        request.className = m_class->currentText().toStdString();
    request.heatmap.downsample = m_downsample->value();
    request.heatmap.overlay = m_overlay->isChecked();
    request.heatmap.opacity = m_opacity->value();
    request.heatmap.colormap = m_colormap->currentText().toStdString();
    const int normalisation = m_normalisation->currentIndex();
    request.heatmap.normalisation = normalisation == MinMax ? project::ScoreNormalisation::MinMax
        : normalisation == Probability                      ? project::ScoreNormalisation::Probability
                                                            : project::ScoreNormalisation::PercentileRank;
    return request;
}

void HeatmapExportDialog::browse()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Export heatmaps to"), m_folder->text());
    if (!folder.isEmpty())
        m_folder->setText(folder);
}

void HeatmapExportDialog::exportHeatmaps()
{
    if (m_watcher.isRunning())
        return;
    if (m_folder->text().trimmed().isEmpty()) {
        m_status->setText(tr("Choose a folder for the heatmaps."));
        return;
    }
    QSettings stored;
    stored.setValue(kDownsampleKey, m_downsample->value());
    stored.setValue(kOverlayKey, m_overlay->isChecked());
    stored.setValue(kFormatKey, m_format->currentIndex());
    const project::RunHeatmapExport request = this->request();
    m_status->setText(tr("Writing heatmaps to %1 ...").arg(QDir::toNativeSeparators(m_folder->text().trimmed())));
    m_busy->show();
    m_watcher.setFuture(QtConcurrent::run([request] {
        Outcome outcome;
        try {
            for (const project::SlideHeatmapResult &result : project::exportRunHeatmaps(request)) {
                if (result.error.empty())
                    ++outcome.written;
                else
                    outcome.failures.append(QString::fromStdString(result.slideId + ": " + result.error));
            }
        } catch (const std::exception &e) {
            outcome.error = QString::fromStdString(e.what());
        }
        return outcome;
    }));
    updateControls();
}

void HeatmapExportDialog::onExported()
{
    const Outcome outcome = m_watcher.result();
    m_busy->hide();
    updateControls();
    const QString folder = QDir::toNativeSeparators(m_folder->text().trimmed());
    QString summary;
    QString error = outcome.error;
    if (error.isEmpty()) {
        summary = tr("Wrote the heatmaps of %n slide(s) to %1", nullptr, outcome.written).arg(folder);
        error = outcome.failures.join(QLatin1Char('\n'));
    }
    m_status->setText(error.isEmpty() ? summary + QLatin1Char('.') : (summary.isEmpty() ? error : summary + QLatin1Char('.')));
    auto *box = new QMessageBox(error.isEmpty() ? QMessageBox::Information : QMessageBox::Warning, windowTitle(),
                                summary.isEmpty() ? error : summary + QLatin1Char('.'), QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("heatmapExportReport"));
    if (!summary.isEmpty() && !error.isEmpty())
        box->setInformativeText(tr("%n slide(s) failed:", nullptr, static_cast<int>(outcome.failures.size())) + QLatin1Char('\n')
                                + outcome.failures.mid(0, 8).join(QLatin1Char('\n')));
    box->setAttribute(Qt::WA_DeleteOnClose);
    m_report = box;
    box->open();
    Q_EMIT exported(summary, error);
}

} // namespace icmil::ui
