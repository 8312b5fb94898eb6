// SPDX-License-Identifier: GPL-3.0-or-later
#include "ui/training/trainingpanel.h"

#include "ui/training/durationestimateview.h"
#include "ui/training/trainingcharts.h"
#include "ui/training/trainingsettingsform.h"
#include "ui/training/trainingworker.h"

#include "common/listtext.h"
#include "project/backend/torchbackend.h"
#include "project/loop/icmilloopstate.h"

#include <QCheckBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QLabel>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QScrollArea>
#include <QScrollBar>
#include <QPushButton>
#include <QSplitter>
#include <QVBoxLayout>

#include <QFontDatabase>

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace icmil::ui {

namespace {

QString phaseWords(const QString &phase)
{
    if (phase == QLatin1String("calibrating"))
        return QObject::tr("calibrating embedder");
    if (phase == QLatin1String("extracting"))
        return QObject::tr("extracting features");
    if (phase == QLatin1String("training"))
        return QObject::tr("training classifier");
    if (phase == QLatin1String("fine-tuning"))
        return QObject::tr("fine-tuning embedder");
    return phase;
}

QString duration(double seconds)
{
    const auto s = static_cast<long long>(std::llround(seconds));
    if (s >= 3600)
        return QStringLiteral("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
    if (s >= 60)
        return QStringLiteral("%1 min %2 s").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1 s").arg(s);
}

QString auc(double value)
{
    return std::isnan(value) ? QStringLiteral("-") : QString::number(value, 'f', 3);
}

} // namespace

TrainingPanel::TrainingPanel(QWidget *parent) : QWidget(parent), m_worker(new TrainingWorker)
{
    m_confirm = [this](const QString &question) { return QMessageBox::question(this, tr("ICMIL training"), question) == QMessageBox::Yes; };
    m_trainButton = new QPushButton(tr("Train"));
    m_trainButton->setToolTip(tr("Run the ICMIL loop from the start"));
    m_stopButton = new QPushButton(tr("Stop"));
    m_stopButton->setToolTip(tr("Stop the run; finished phases are kept and Resume continues it"));
    m_resumeButton = new QPushButton(tr("Resume"));
    m_resumeButton->setToolTip(tr("Continue the saved loop with the same settings"));
    m_phaseLabel = new QLabel(tr("Idle"));
    m_phaseLabel->setObjectName(QStringLiteral("phase"));
    m_phaseLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_phaseLabel->setWordWrap(true); // an error of several sentences must not widen the dock
    m_progress = new QProgressBar;
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    m_log = new QPlainTextEdit;
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(kLogLines);
    m_log->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    // The log follows its newest line unless the user scrolled up to read an older one. Wrapped
    // lines are laid out after they are appended, so it is the range's growth that is followed.
    QScrollBar *logBar = m_log->verticalScrollBar();
    connect(logBar, &QScrollBar::valueChanged, this, [this, logBar](int value) { m_logFollows = value >= logBar->maximum() - 1; });
    connect(logBar, &QScrollBar::rangeChanged, this, [this, logBar](int, int maximum) {
        if (m_logFollows)
            logBar->setValue(maximum);
    });
    m_charts = new TrainingCharts;
    m_form = new TrainingSettingsForm;
    m_duration = new DurationEstimateView;
    m_estimateTimer.setSingleShot(true);
    m_estimateTimer.setInterval(kEstimateDelayMs);

    auto *buttons = new QHBoxLayout;
    buttons->addWidget(m_trainButton);
    buttons->addWidget(m_stopButton);
    buttons->addWidget(m_resumeButton);
    // The buttons and the run's state first, where a small screen still shows them; the form
    // and the log share what height is left (the form scrolls).
    auto *settings = new QWidget;
    auto *settingsLayout = new QVBoxLayout(settings);
    settingsLayout->setContentsMargins(0, 0, 0, 0);
    settingsLayout->addWidget(m_form);
    // What the tissue settings keep on the shown slide, before anything is extracted.
    m_tissuePreview = new QCheckBox(tr("Preview tissue on the shown slide"));
    m_tissuePreview->setObjectName(QStringLiteral("tissuePreview"));
    m_tissuePreview->setToolTip(tr("Outline the tissue that the tissue preset and patch settings above keep on the slide in the "
                                   "viewer, and count its patches; it follows the settings as you change them"));
    m_tissuePreviewText = new QLabel;
    m_tissuePreviewText->setObjectName(QStringLiteral("tissuePreviewText"));
    m_tissuePreviewText->setWordWrap(true);
    m_tissuePreviewText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_tissuePreviewText->hide();
    settingsLayout->addWidget(m_tissuePreview);
    settingsLayout->addWidget(m_tissuePreviewText);
    settingsLayout->addWidget(m_duration);
    auto *scroll = new QScrollArea;
    scroll->setObjectName(QStringLiteral("settingsScroll"));
    scroll->setWidget(settings);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    auto *left = new QWidget;
    auto *leftLayout = new QVBoxLayout(left);
    leftLayout->addLayout(buttons);
    leftLayout->addWidget(m_phaseLabel);
    leftLayout->addWidget(m_progress);
    leftLayout->addWidget(scroll, 1);
    leftLayout->addWidget(m_log, 1);
    // The charts scroll on their own: their height must not push the log below a short dock.
    auto *chartsScroll = new QScrollArea;
    chartsScroll->setObjectName(QStringLiteral("chartsScroll"));
    chartsScroll->setWidget(m_charts);
    chartsScroll->setWidgetResizable(true);
    chartsScroll->setFrameShape(QFrame::NoFrame);
    auto *splitter = new QSplitter(Qt::Horizontal);
    splitter->addWidget(left);
    splitter->addWidget(chartsScroll);
    splitter->setStretchFactor(1, 2);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(splitter);

    connect(m_trainButton, &QPushButton::clicked, this, &TrainingPanel::train);
    connect(m_stopButton, &QPushButton::clicked, this, &TrainingPanel::stop);
    connect(m_resumeButton, &QPushButton::clicked, this, &TrainingPanel::resume);
    connect(m_form, &TrainingSettingsForm::iterationsChanged, this, &TrainingPanel::updateButtons);
    connect(m_form, &TrainingSettingsForm::settingsChanged, this, &TrainingPanel::scheduleEstimate);
    connect(m_form, &TrainingSettingsForm::settingsChanged, this, &TrainingPanel::settingsEdited);
    connect(m_tissuePreview, &QCheckBox::toggled, this, [this](bool on) {
        m_tissuePreviewText->setVisible(on && !m_tissuePreviewText->text().isEmpty());
        Q_EMIT tissuePreviewToggled(on);
    });
    connect(m_form, &TrainingSettingsForm::defaultsRequested, this, [this] { m_form->applyDeviceDefaults(chosenDeviceIsCpu()); });
    connect(&m_estimateTimer, &QTimer::timeout, this, &TrainingPanel::requestEstimate);
    connect(m_duration, &DurationEstimateView::estimateRequested, this, [this] {
        m_duration->showPending();
        requestEstimate();
    });
    connect(m_worker, &TrainingWorker::durationEstimated, this, &TrainingPanel::onEstimate);
    connect(m_worker, &TrainingWorker::progressChanged, this, &TrainingPanel::onProgress);
    connect(m_worker, &TrainingWorker::messageLogged, this, &TrainingPanel::appendLog);
    connect(m_worker, &TrainingWorker::classifierEpochFinished, this, &TrainingPanel::onEpoch);
    connect(m_worker, &TrainingWorker::fineTuningEpochFinished, this, &TrainingPanel::onFineTuningEpoch);
    connect(m_worker, &TrainingWorker::phaseFinished, this, [this](int k, const QString &phase) {
        appendLog(tr("Iteration %1: %2 done").arg(k).arg(phase));
        if (phase == QLatin1String("train"))
            Q_EMIT projectOutputsChanged();
    });
    connect(m_worker, &TrainingWorker::iterationFinished, this, &TrainingPanel::onIteration);
    connect(m_worker, &TrainingWorker::finished, this, &TrainingPanel::onFinished);
    connect(m_worker, &TrainingWorker::cancelled, this, &TrainingPanel::onCancelled);
    connect(m_worker, &TrainingWorker::failed, this, &TrainingPanel::onFailed);
    connect(m_worker, &TrainingWorker::stateInspected, this, &TrainingPanel::onState);
    m_worker->moveToNamedThread(&m_thread);
    updateButtons();
}

bool TrainingPanel::tissuePreviewRequested() const
{
    return m_tissuePreview->isChecked();
}

void TrainingPanel::setTissuePreviewText(const QString &text)
{
    m_tissuePreviewText->setText(text);
    m_tissuePreviewText->setVisible(m_tissuePreview->isChecked() && !text.isEmpty());
}

QString TrainingPanel::tissuePreviewText() const
{
    return m_tissuePreviewText->text();
}

TrainingPanel::~TrainingPanel()
{
    m_worker->stopAndWait(60000);
    m_thread.quit();
    m_thread.wait();
    delete m_worker;
}

TrainingSettings TrainingPanel::settings() const
{
    return m_form->settings(m_settings);
}

void TrainingPanel::setSettings(const TrainingSettings &s)
{
    m_settings = s;
    if (!s.projectRoot.empty())
        m_project = QString::fromStdString(s.projectRoot.string());
    m_settings.projectRoot = m_project.toStdString();
    m_form->setSettings(s);
    m_form->setBrowseFolder(m_project);
    inspectState();
    updateButtons();
    scheduleEstimate();
}

bool TrainingPanel::setProject(const QString &path)
{
    if (m_running)
        return false;
    m_project = path;
    m_settings.projectRoot = path.toStdString();
    m_form->setBrowseFolder(path);
    m_form->setFollowsDevice(true); // until its saved loop (onState) or a recipe says otherwise
    m_loadSavedSettings = true;
    m_state = LoopStateInfo{};
    m_charts->clear();
    m_log->clear(); // another project's errors and log are not this one's
    m_phaseLabel->setText(tr("Idle"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    inspectState();
    updateButtons();
    scheduleEstimate();
    return true;
}

void TrainingPanel::scheduleEstimate()
{
    m_estimateShown = false;
    m_worker->supersedeEstimates();
    if (m_running)
        return; // estimated again after the run
    if (m_project.isEmpty()) {
        m_estimateTimer.stop();
        m_duration->showUnavailable(tr("no project"));
        return;
    }
    if (!project::torchBackendLoaded()) {
        m_estimateTimer.stop();
        m_duration->showOnRequest(); // the probe would load LibTorch: only when asked
        return;
    }
    m_duration->showPending();
    m_estimateTimer.start();
}

void TrainingPanel::requestEstimate()
{
    if (m_running || m_project.isEmpty())
        return;
    project::IcmilLoopConfig config;
    try {
        config = loopConfig();
    } catch (const std::exception &e) {
        m_duration->showUnavailable(QString::fromStdString(e.what()));
        return;
    }
    m_estimatedSettings = settings();
    m_worker->estimate(std::move(config), ++m_estimateRequest);
}

void TrainingPanel::onEstimate(const DurationEstimateInfo &info)
{
    if (info.request != m_estimateRequest || info.cancelled || m_running || m_estimateTimer.isActive())
        return; // an answer to settings shown before, or superseded
    if (!info.device.isEmpty()) {
        if (m_estimatedSettings.device == "auto")
            m_autoIsCpu = info.cpu;
        // The first answer for a device tells its kind: untouched fields follow it (and ask again).
        if (m_form->followDeviceDefaults(info.cpu))
            return;
    }
    if (!info.error.isEmpty()) {
        m_duration->showUnavailable(info.error);
        return;
    }
    m_duration->showEstimate(info, m_estimatedSettings);
    m_estimateShown = true;
}

bool TrainingPanel::chosenDeviceIsCpu() const
{
    const QString device = m_form->device();
    if (device.startsWith(QLatin1String("cuda")))
        return false;
    return device == QLatin1String("auto") ? m_autoIsCpu : true;
}

void TrainingPanel::inspectState()
{
    if (!m_project.isEmpty())
        m_worker->inspect(loopConfig());
}

bool TrainingPanel::canResume() const
{
    return !m_running && m_state.exists && m_state.error.isEmpty()
        && (m_state.phaseUnderWay || m_state.iterationsDone < m_form->iterations() + 1);
}

void TrainingPanel::updateButtons()
{
    m_trainButton->setEnabled(!m_running && !m_project.isEmpty());
    m_stopButton->setEnabled(m_running && !m_stopping);
    m_resumeButton->setEnabled(canResume());
    m_form->setEnabled(!m_running);
}

void TrainingPanel::train()
{
    if (m_running || m_project.isEmpty())
        return;
    if (m_state.exists
        && !m_confirm(tr("The project has a saved ICMIL loop '%1' (%2 iterations done). Start over and delete its results?")
                          .arg(QString::fromStdString(m_settings.name))
                          .arg(m_state.iterationsDone)))
        return;
    m_charts->clear();
    // Always from the start (the button's promise): also when the saved state is not known yet,
    // e.g. pressed just after a run that failed in its first phase had saved one.
    start(true);
}

void TrainingPanel::resume()
{
    if (canResume())
        start(false);
}

void TrainingPanel::start(bool overwrite)
{
    project::IcmilLoopConfig config;
    try {
        config = loopConfig();
    } catch (const std::exception &e) {
        onFailed(QString::fromStdString(e.what()));
        return;
    }
    config.overwrite = overwrite;
    if (!m_worker->start(std::move(config)))
        return;
    m_startedOver = overwrite;
    m_runClock.start();
    m_stopping = false;
    appendLog(overwrite || !m_state.exists ? tr("Training the ICMIL loop on %1").arg(m_project)
                                           : tr("Resuming the ICMIL loop on %1").arg(m_project));
    m_phaseLabel->setText(tr("Starting…"));
    m_progress->setRange(0, 0);
    setRunning(true);
    Q_EMIT runStarted();
}

void TrainingPanel::stop()
{
    if (!m_running || m_stopping)
        return;
    m_stopping = true;
    m_stopClock.start();
    m_worker->cancel();
    m_phaseLabel->setText(tr("Stopping…"));
    appendLog(tr("Stopping…"));
    updateButtons();
}

bool TrainingPanel::stopAndWait(int ms)
{
    stop();
    return m_worker->stopAndWait(ms);
}

bool TrainingPanel::confirmStopOnClose(int timeoutMs)
{
    if (!m_running)
        return true;
    if (!m_confirm(tr("A training run is in progress. Stop it and close?")))
        return false;
    return stopAndWait(timeoutMs);
}

void TrainingPanel::setRunning(bool running)
{
    m_running = running;
    if (!running)
        m_stopping = false;
    if (running && !m_estimateShown) {
        m_estimateTimer.stop();
        m_duration->showUnavailable(tr("not estimated while a run is under way"));
    } else if (!running && !m_estimateShown) {
        scheduleEstimate();
    }
    updateButtons();
    Q_EMIT runningChanged(running);
}

QString TrainingPanel::progressText() const
{
    return m_phaseLabel->text();
}

QString TrainingPanel::logText() const
{
    return m_log->toPlainText();
}

void TrainingPanel::appendLog(const QString &line)
{
    m_log->appendPlainText(QDateTime::currentDateTime().toString(QStringLiteral("[HH:mm:ss] ")) + line);
}

void TrainingPanel::onProgress(const TrainingProgress &p)
{
    if (!m_running || m_stopping)
        return;
    if (std::exchange(m_startedOver, false))
        Q_EMIT projectOutputsChanged(); // the loop deletes its old outputs before its first phase
    QStringList parts{tr("Iteration %1/%2").arg(p.iteration).arg(p.iterations - 1), phaseWords(p.phase)};
    if (!p.step.isEmpty())
        parts << p.step;
    if (p.total > 0)
        parts << QStringLiteral("%1/%2").arg(p.done).arg(p.total);
    if (p.loss >= 0.0)
        parts << tr("loss %1").arg(p.loss, 0, 'f', 4);
    if (p.etaSeconds >= 0.0)
        parts << tr("ETA %1").arg(duration(p.etaSeconds));
    const QString text = parts.join(QStringLiteral(" · "));
    m_phaseLabel->setText(text);
    const bool known = p.total > 0 && p.total <= std::numeric_limits<int>::max();
    m_progress->setRange(0, known ? static_cast<int>(p.total) : 0);
    if (known)
        m_progress->setValue(static_cast<int>(std::min(p.done, p.total)));
    Q_EMIT progressTextChanged(text);
}

void TrainingPanel::onEpoch(const ClassifierEpoch &e)
{
    m_charts->addClassifierEpoch(e);
    const int every = std::max(1, e.epochs / 10);
    if ((e.epoch + 1) % every == 0 || e.epoch + 1 == e.epochs)
        appendLog(tr("Iteration %1 classifier epoch %2/%3: loss %4, validation loss %5, AUC %6%7")
                      .arg(e.iteration)
                      .arg(e.epoch + 1)
                      .arg(e.epochs)
                      .arg(e.trainLoss, 0, 'f', 4)
                      .arg(std::isnan(e.valLoss) ? QStringLiteral("-") : QString::number(e.valLoss, 'f', 4))
                      .arg(auc(e.valAuc))
                      .arg(e.best ? tr("  *best") : QString()));
}

void TrainingPanel::onFineTuningEpoch(const FineTuningEpochPoint &e)
{
    m_charts->addFineTuningEpoch(e);
    appendLog(tr("Iteration %1 fine-tuning epoch %2: loss %3, held-out MAE %4, agreement %5, %6 patches/s%7")
                  .arg(e.iteration)
                  .arg(e.epoch + 1)
                  .arg(e.loss, 0, 'f', 5)
                  .arg(e.validationMae, 0, 'f', 4)
                  .arg(e.validationAccuracy, 0, 'f', 3)
                  .arg(e.patchesPerSecond, 0, 'f', 1)
                  .arg(e.best ? tr("  *best") : QString()));
}

void TrainingPanel::onIteration(const IterationResult &r)
{
    m_charts->setIteration(r);
    appendLog(tr("Iteration %1 finished in %2: validation AUC %3 (acc %4, F1 %5), test AUC %6 (acc %7, F1 %8)")
                  .arg(r.iteration)
                  .arg(duration(r.seconds))
                  .arg(auc(r.valAuc), auc(r.valAccuracy), auc(r.valF1), auc(r.testAuc), auc(r.testAccuracy), auc(r.testF1)));
    if (!std::isnan(r.threshold))
        appendLog(tr("Iteration %1 predictions (the project's table): %2 when P(%2) >= %3, the threshold chosen on the validation "
                     "slides (the epochs' accuracy counts the more probable class)")
                      .arg(r.iteration)
                      .arg(r.positiveClass)
                      .arg(r.threshold, 0, 'f', 3));
    if (r.hasLocalisation())
        appendLog(tr("Iteration %1 attention on %2 tumour slides: patch AUC %3, top-10% in tumour %4 (at most %5)")
                      .arg(r.iteration)
                      .arg(r.localisedSlides)
                      .arg(auc(r.patchAuc), auc(r.topFraction), auc(r.topFractionCeiling)));
}

void TrainingPanel::onFinished(const TrainingOutcome &outcome)
{
    m_charts->setIterations(outcome.iterations);
    appendLog(tr("ICMIL loop finished in %1 on %2; best run by validation AUC: %3")
                  .arg(duration(outcome.seconds), outcome.device, outcome.bestRun.isEmpty() ? tr("none") : outcome.bestRun));
    m_phaseLabel->setText(tr("Finished"));
    m_progress->setRange(0, 1);
    m_progress->setValue(1);
    setRunning(false);
    inspectState();
    Q_EMIT runFinished(outcome.bestRun);
}

void TrainingPanel::onCancelled(const TrainingOutcome &outcome)
{
    const qint64 ms = m_stopClock.isValid() ? m_stopClock.elapsed() : -1;
    m_charts->setIterations(outcome.iterations);
    appendLog(tr("Stopped (in %1 ms) after %2 finished iterations; Resume continues at the phase that was under way")
                  .arg(ms)
                  .arg(outcome.iterations.size()));
    m_phaseLabel->setText(tr("Stopped"));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    setRunning(false);
    inspectState();
    Q_EMIT runCancelled();
}

void TrainingPanel::onFailed(const QString &message)
{
    appendLog(tr("Training failed: %1").arg(message));
    m_phaseLabel->setText(tr("Failed: %1").arg(message));
    m_progress->setRange(0, 1);
    m_progress->setValue(0);
    if (m_running)
        setRunning(false);
    inspectState();
    Q_EMIT runFailed(message);
}

void TrainingPanel::onState(const LoopStateInfo &state)
{
    const project::IcmilLoopConfig config = loopConfig();
    if (state.stateFile != QString::fromStdString((config.projectRoot / "icmil" / config.name / "state.json").string()))
        return; // an answer for a project or loop name shown before
    m_state = state;
    if (state.exists)
        m_form->setFollowsDevice(false); // the saved loop's settings stay as they are
    if (!state.error.isEmpty())
        appendLog(tr("The saved loop cannot be read: %1").arg(state.error));
    // A project's saved loop, seen for the first time: the form shows the settings it ran with,
    // so Resume continues it (and Train says what a change would start over).
    if (std::exchange(m_loadSavedSettings, false) && state.exists && !state.settings.empty() && !m_running) {
        try {
            // Over the form's settings: what an older loop did not record stays as the form has it.
            const project::IcmilLoopConfig saved = project::loopConfigFromSettings(state.settings, loopConfig());
            TrainingSettings s = TrainingSettings::fromLoopConfig(saved, settings());
            s.iterations = std::max(s.iterations, state.iterationsDone - 1);
            m_base = saved;
            m_settings = s;
            m_form->setSettings(s);
            const std::vector<std::string> unshown = project::loopSettingsChanges(state.settings, project::loopSettingsJson(loopConfig()));
            appendLog(unshown.empty() ? tr("Loaded the settings of the saved loop '%1'").arg(QString::fromStdString(s.name))
                                      : tr("Loaded the settings of the saved loop '%1', except: %2")
                                            .arg(QString::fromStdString(s.name), QString::fromStdString(listSome(unshown, 6))));
            scheduleEstimate();
        } catch (const std::exception &e) {
            appendLog(tr("The saved loop's settings cannot be shown: %1").arg(QString::fromUtf8(e.what())));
        }
    }
    if (!m_running)
        m_charts->setIterations(state.iterations);
    updateButtons();
}

} // namespace icmil::ui
