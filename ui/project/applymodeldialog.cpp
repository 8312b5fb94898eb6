// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/project/applymodeldialog.h"

#include "project/dataset/slidelist.h"
#include "ui/project/applymodelworker.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <cmath>
#include <utility>

namespace icmil::ui {

namespace {

constexpr int kProgressRange = 1000; // extraction fills 90%, prediction the rest
constexpr int kExtractionShare = 900;

QString durationText(double seconds)
{
    const auto s = static_cast<long long>(std::llround(std::max(0.0, seconds)));
    if (s < 60)
        return ApplyModelDialog::tr("%1 s").arg(s);
    if (s < 3600)
        return ApplyModelDialog::tr("%1 min %2 s").arg(s / 60).arg(s % 60);
    return ApplyModelDialog::tr("%1 h %2 min").arg(s / 3600).arg(s % 3600 / 60);
}

} // namespace

ApplyModelDialog::ApplyModelDialog(QWidget *parent) : QDialog(parent), m_worker(new ApplyModelWorker)
{
    setWindowTitle(tr("Apply model to slides"));
    m_bundleEdit = new QLineEdit(this);
    m_bundleEdit->setObjectName(QStringLiteral("bundle"));
    m_bundleEdit->setPlaceholderText(tr("a model bundle (.icmil) made by icmil export-model"));
    m_slidesEdit = new QLineEdit(this);
    m_slidesEdit->setObjectName(QStringLiteral("slides"));
    m_slidesEdit->setPlaceholderText(tr("a folder of slides, or slide files separated by ';'"));
    m_outputEdit = new QLineEdit(this);
    m_outputEdit->setObjectName(QStringLiteral("output"));
    m_labelsEdit = new QLineEdit(this);
    m_labelsEdit->setObjectName(QStringLiteral("labels"));
    m_labelsEdit->setPlaceholderText(tr("optional: case_id,slide_id,label to compare the predictions with"));
    m_device = new QComboBox(this);
    m_device->addItem(tr("Automatic (a GPU when there is one)"), QStringLiteral("auto"));
    m_device->addItem(tr("CPU"), QStringLiteral("cpu"));
    m_device->addItem(tr("CUDA GPU"), QStringLiteral("cuda"));

    auto button = [this](const QString &text, auto slot) {
        auto *b = new QToolButton(this);
        b->setText(text);
        connect(b, &QToolButton::clicked, this, slot);
        m_inputs.append(b);
        return b;
    };
    QWidget *previous = nullptr; // the tab order: row by row, each field before its buttons
    auto row = [&previous](QLineEdit *edit, std::initializer_list<QWidget *> buttons) {
        auto *box = new QHBoxLayout;
        box->addWidget(edit, 1);
        if (previous != nullptr)
            QWidget::setTabOrder(previous, edit);
        previous = edit;
        for (QWidget *b : buttons) {
            box->addWidget(b);
            QWidget::setTabOrder(std::exchange(previous, b), b);
        }
        return box;
    };
    auto *form = new QFormLayout;
    form->addRow(tr("Model bundle:"), row(m_bundleEdit, {button(QStringLiteral("..."), [this] {
                                              browse(m_bundleEdit, tr("Choose a model bundle"),
                                                     tr("Model bundles (*.icmil);;All files (*)"));
                                          })}));
    form->addRow(
        tr("Slides:"),
        row(m_slidesEdit,
            {button(tr("Files..."), &ApplyModelDialog::chooseSlideFiles), button(tr("Folder..."), &ApplyModelDialog::chooseSlidesFolder)}));
    form->addRow(tr("Output folder:"), row(m_outputEdit, {button(QStringLiteral("..."), [this] {
                                               const QString folder = QFileDialog::getExistingDirectory(
                                                   this, tr("Choose the output folder (it becomes a project)"), outputFolder());
                                               if (!folder.isEmpty())
                                                   setOutputFolder(folder);
                                           })}));
    form->addRow(tr("Labels CSV:"), row(m_labelsEdit, {button(QStringLiteral("..."), [this] {
                                            browse(m_labelsEdit, tr("Choose the labels CSV"), tr("CSV files (*.csv)"));
                                        })}));
    form->addRow(tr("Device:"), m_device);
    QWidget::setTabOrder(previous, m_device);
    m_inputs << m_bundleEdit << m_slidesEdit << m_outputEdit << m_labelsEdit << m_device;

    m_info = new QLabel(this);
    m_info->setObjectName(QStringLiteral("bundleInfo"));
    m_info->setTextFormat(Qt::PlainText);
    m_info->setWordWrap(true);
    m_info->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, kProgressRange);
    m_progressLabel = new QLabel(this);
    m_progressLabel->setObjectName(QStringLiteral("progressText"));
    m_summary = new QPlainTextEdit(this);
    m_summary->setObjectName(QStringLiteral("summary"));
    m_summary->setReadOnly(true);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("status"));
    m_status->setTextFormat(Qt::PlainText);
    m_status->setWordWrap(true);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
    m_apply = m_buttons->addButton(tr("Apply"), QDialogButtonBox::AcceptRole);
    m_cancel = new QPushButton(tr("Cancel"), this);
    m_cancel->setObjectName(QStringLiteral("cancel"));
    m_buttons->addButton(m_cancel, QDialogButtonBox::ActionRole);

    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_info);
    layout->addWidget(m_progress);
    layout->addWidget(m_progressLabel);
    layout->addWidget(m_summary, 1);
    layout->addWidget(m_status);
    layout->addWidget(m_buttons);
    resize(760, 480);

    m_reread.setSingleShot(true);
    m_reread.setInterval(250);
    connect(&m_reread, &QTimer::timeout, this, &ApplyModelDialog::readBundle);
    connect(&m_bundleWatcher, &QFutureWatcher<BundleDescription>::finished, this, &ApplyModelDialog::onBundleRead);
    connect(m_bundleEdit, &QLineEdit::textChanged, this, [this] {
        m_reread.start();
        updateOutput();
    });
    connect(m_slidesEdit, &QLineEdit::textChanged, this, &ApplyModelDialog::updateOutput);
    connect(m_outputEdit, &QLineEdit::textEdited, this, [this] { m_outputChosen = true; });
    for (QLineEdit *edit : {m_outputEdit, m_labelsEdit})
        connect(edit, &QLineEdit::textChanged, this, &ApplyModelDialog::updateState);
    connect(m_apply, &QPushButton::clicked, this, &ApplyModelDialog::apply);
    connect(m_cancel, &QPushButton::clicked, this, &ApplyModelDialog::cancel);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &ApplyModelDialog::reject);

    connect(m_worker, &ApplyModelWorker::progressChanged, this, &ApplyModelDialog::onProgress);
    connect(m_worker, &ApplyModelWorker::messageLogged, this, [this](const QString &line) { m_messages.append(line); });
    connect(m_worker, &ApplyModelWorker::finished, this, &ApplyModelDialog::onFinished);
    connect(m_worker, &ApplyModelWorker::cancelled, this, &ApplyModelDialog::onCancelled);
    connect(m_worker, &ApplyModelWorker::failed, this, &ApplyModelDialog::onFailed);
    m_worker->moveToNamedThread(&m_thread);
    setRunning(false);
}

ApplyModelDialog::~ApplyModelDialog()
{
    m_bundleWatcher.waitForFinished();
    m_worker->stopAndWait(60000);
    m_thread.quit();
    m_thread.wait();
    delete m_worker;
}

void ApplyModelDialog::setBundle(const QString &path)
{
    m_bundleEdit->setText(path);
}

void ApplyModelDialog::setSlides(const QStringList &slides)
{
    m_slidesEdit->setText(slides.join(QStringLiteral("; ")));
}

void ApplyModelDialog::setOutputFolder(const QString &path)
{
    m_outputChosen = true;
    m_outputEdit->setText(path);
}

void ApplyModelDialog::setLabelsCsv(const QString &path)
{
    m_labelsEdit->setText(path);
}

void ApplyModelDialog::setDevice(const QString &device)
{
    m_device->setCurrentIndex(std::max(0, m_device->findData(device)));
}

QStringList ApplyModelDialog::slides() const
{
    QStringList slides;
    for (const QString &part : m_slidesEdit->text().split(QLatin1Char(';'), Qt::SkipEmptyParts))
        if (!part.trimmed().isEmpty())
            slides.append(part.trimmed());
    return slides;
}

QString ApplyModelDialog::outputFolder() const
{
    return m_outputEdit->text().trimmed();
}

QString ApplyModelDialog::defaultOutputFolder(const QString &bundle, const QStringList &slides)
{
    if (slides.isEmpty())
        return {};
    QString stem = QFileInfo(bundle.trimmed()).completeBaseName();
    if (stem.isEmpty())
        stem = QStringLiteral("model");
    const QString first = QDir::cleanPath(slides.front());
    const bool files = slides.size() > 1 || project::hasSlideExtension(first.toStdString());
    const QString folder = files ? QFileInfo(first).path() : first;
    const QString beside = files ? folder : QFileInfo(folder).path();
    return QDir::cleanPath(beside + QLatin1Char('/') + stem + QStringLiteral("-predictions"));
}

void ApplyModelDialog::updateOutput()
{
    if (!m_outputChosen)
        m_outputEdit->setText(defaultOutputFolder(m_bundleEdit->text(), slides()));
    m_error.clear();
    updateState();
}

void ApplyModelDialog::readBundle()
{
    if (m_bundleWatcher.isRunning()) { // answered when it finishes: read again then
        m_reread.start();
        return;
    }
    const QString path = m_bundleEdit->text().trimmed();
    if (path.isEmpty()) {
        m_bundle = BundleDescription{};
        m_info->clear();
        updateState();
        return;
    }
    m_info->setText(tr("Reading the model bundle..."));
    m_bundleWatcher.setFuture(QtConcurrent::run(&ApplyModelWorker::describeBundle, path));
    updateState();
}

void ApplyModelDialog::onBundleRead()
{
    m_bundle = m_bundleWatcher.result();
    if (m_bundle.path != m_bundleEdit->text().trimmed()) { // the field changed meanwhile
        m_reread.start();
        return;
    }
    if (m_bundle.error.isEmpty()) {
        QStringList lines{m_bundle.name, tr("Classes: %1").arg(m_bundle.classNames.join(QStringLiteral(", "))),
                          tr("Embedder: %1; classifier: %2").arg(m_bundle.embedder, m_bundle.classifier),
                          tr("Threshold: %1").arg(m_bundle.threshold.isEmpty() ? tr("none (the most probable class)") : m_bundle.threshold),
                          tr("Preprocessing: %1").arg(m_bundle.preprocessing)};
        m_info->setText(lines.join(QLatin1Char('\n')));
    } else {
        m_info->clear();
    }
    m_error.clear();
    updateState();
    Q_EMIT bundleRead();
}

bool ApplyModelDialog::canApply() const
{
    return !m_running && !isReadingBundle() && m_bundle.error.isEmpty() && !m_bundle.path.isEmpty()
        && m_bundle.path == m_bundleEdit->text().trimmed() && !slides().isEmpty() && !outputFolder().isEmpty();
}

QString ApplyModelDialog::statusText() const
{
    return m_status->text();
}

QString ApplyModelDialog::progressText() const
{
    return m_progressLabel->text();
}

QString ApplyModelDialog::summary() const
{
    return m_summary->toPlainText();
}

void ApplyModelDialog::updateState()
{
    QString status;
    if (m_running)
        status.clear();
    else if (!m_error.isEmpty())
        status = m_error;
    else if (m_bundleEdit->text().trimmed().isEmpty())
        status = tr("Choose a model bundle (.icmil).");
    else if (isReadingBundle())
        status = tr("Reading the model bundle...");
    else if (!m_bundle.error.isEmpty())
        status = m_bundle.error;
    else if (slides().isEmpty())
        status = tr("Choose the slides: files or a folder.");
    else if (outputFolder().isEmpty())
        status = tr("Choose an output folder.");
    m_status->setText(status);
    const bool problem = !m_error.isEmpty() || (!m_bundle.error.isEmpty() && status == m_bundle.error);
    m_status->setStyleSheet(problem ? QStringLiteral("color: #c62828;") : QString());
    m_apply->setEnabled(canApply());
}

void ApplyModelDialog::setRunning(bool running)
{
    m_running = running;
    for (QWidget *input : std::as_const(m_inputs))
        input->setEnabled(!running);
    m_cancel->setVisible(running);
    m_buttons->button(QDialogButtonBox::Close)->setVisible(!running); // Cancel stops the job; Escape cancels and closes
    m_cancel->setEnabled(running);
    m_progress->setVisible(running);
    m_progressLabel->setVisible(running);
    m_summary->setVisible(!running && !m_summary->toPlainText().isEmpty());
    updateState();
}

void ApplyModelDialog::apply()
{
    if (!canApply())
        return;
    ApplyModelRequest request;
    request.bundle = m_bundle.path;
    request.slides = slides();
    request.outDir = outputFolder();
    request.labelsCsv = m_labelsEdit->text().trimmed();
    request.device = m_device->currentData().toString();
    m_error.clear();
    m_summary->clear();
    m_progress->setValue(0);
    m_progressLabel->setText(tr("Starting (the first run loads LibTorch)..."));
    m_messages.clear();
    if (!m_worker->start(std::move(request)))
        return;
    setRunning(true);
}

void ApplyModelDialog::cancel()
{
    if (!m_running)
        return;
    m_cancel->setEnabled(false);
    m_progressLabel->setText(tr("Cancelling..."));
    m_worker->cancel();
}

void ApplyModelDialog::reject()
{
    if (!m_running) {
        QDialog::reject();
        return;
    }
    m_closeWhenStopped = true;
    cancel();
}

void ApplyModelDialog::onProgress(const ApplyModelProgress &p)
{
    if (!m_running || !m_cancel->isEnabled())
        return; // cancelling: keep saying so
    const int count = std::max(1, p.slideCount);
    if (p.phase == QLatin1String("predicting")) {
        m_progress->setValue(kExtractionShare + (kProgressRange - kExtractionShare) * p.slideIndex / count);
        m_progressLabel->setText(tr("Predicted slide %1 of %2 (%3)").arg(p.slideIndex).arg(p.slideCount).arg(p.slideId));
        return;
    }
    const double fraction = p.patchesTotal > 0 ? static_cast<double>(p.patchesDone) / static_cast<double>(p.patchesTotal) : 0.0;
    m_progress->setValue(static_cast<int>(kExtractionShare * (p.slideIndex + std::clamp(fraction, 0.0, 1.0)) / count));
    QString text = tr("Slide %1 of %2 (%3): %4").arg(p.slideIndex + 1).arg(p.slideCount).arg(p.slideId, p.phase);
    const QLocale locale;
    if (p.patchesTotal > 0)
        text += tr(" %1 of %2 patches")
                    .arg(locale.toString(static_cast<qlonglong>(p.patchesDone)), locale.toString(static_cast<qlonglong>(p.patchesTotal)));
    if (p.patchesPerSecond > 0)
        text += tr(", %1 patches/s").arg(p.patchesPerSecond, 0, 'f', 0);
    if (p.etaSeconds >= 0)
        text += tr(", about %1 left").arg(durationText(p.etaSeconds));
    m_progressLabel->setText(text);
}

void ApplyModelDialog::onFinished(const ApplyModelOutcome &o)
{
    QStringList lines;
    lines << (o.slides == 1 ? tr("Predicted %1 of %2 slide in %3 on %4 (features made for %5, reused for %6).")
                            : tr("Predicted %1 of %2 slides in %3 on %4 (features made for %5, reused for %6)."))
                 .arg(o.predicted)
                 .arg(o.slides)
                 .arg(durationText(o.seconds), o.device)
                 .arg(o.extracted)
                 .arg(o.reused);
    if (!o.failed.isEmpty()) {
        lines << (o.failed.size() == 1 ? tr("1 slide could not be predicted:")
                                       : tr("%1 slides could not be predicted:").arg(o.failed.size()));
        for (const QString &failure : o.failed)
            lines << QStringLiteral("  ") + failure;
    }
    if (!o.withoutPatches.isEmpty())
        lines << tr("No tissue patches, nothing to predict: %1").arg(o.withoutPatches.join(QStringLiteral(", ")));
    for (const QString &problem : o.problems)
        lines << tr("Not used: %1").arg(problem);
    for (const QString &message : std::as_const(m_messages))
        lines << tr("Note: %1").arg(message);
    if (!o.predictionsCsv.isEmpty())
        lines << tr("Predictions: %1").arg(o.predictionsCsv);
    if (o.predicted > 0)
        lines << tr("The output folder %1 is open as a project (run \"model\").").arg(o.outDir);
    m_summary->setPlainText(lines.join(QLatin1Char('\n')));
    m_progress->setValue(kProgressRange);
    setRunning(false);
    Q_EMIT applyFinished(o);
    if (o.predicted > 0)
        Q_EMIT projectReady(o.outDir, o.firstSlide);
    if (m_closeWhenStopped)
        QDialog::reject();
}

void ApplyModelDialog::onCancelled(const ApplyModelOutcome &o)
{
    m_summary->setPlainText(tr("Cancelled after %1: no predictions were written. The features made so far are kept in %2, so "
                               "applying the model again to these slides resumes where this run stopped.")
                                .arg(durationText(o.seconds), o.outDir));
    setRunning(false);
    Q_EMIT applyCancelled(o);
    if (m_closeWhenStopped)
        QDialog::reject();
}

void ApplyModelDialog::onFailed(const QString &message)
{
    m_error = message;
    setRunning(false);
    Q_EMIT applyFailed(message);
    if (m_closeWhenStopped)
        QDialog::reject();
}

void ApplyModelDialog::chooseSlideFiles()
{
    const QStringList files = QFileDialog::getOpenFileNames(
        this, tr("Choose slides"), QString(),
        tr("Slides and images (*.svs *.tif *.tiff *.ndpi *.vms *.vmu *.scn *.mrxs *.svslide *.bif *.png *.jpg *.jpeg);;All files (*)"));
    if (!files.isEmpty())
        setSlides(files);
}

void ApplyModelDialog::chooseSlidesFolder()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Choose a folder of slides"));
    if (!folder.isEmpty())
        setSlides({folder});
}

void ApplyModelDialog::browse(QLineEdit *edit, const QString &title, const QString &filter)
{
    const QString path = QFileDialog::getOpenFileName(this, title, edit->text(), filter);
    if (!path.isEmpty())
        edit->setText(path);
}

} // namespace icmil::ui
